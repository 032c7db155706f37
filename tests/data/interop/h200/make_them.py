# Makes a real PyTorch memory snapshot and torch.profiler traces on the GPU,
# with PyTorch's own counters at the moment of the dump, for vramscope's importers.
import json, os, sys
import torch

out = sys.argv[1]
torch.manual_seed(0)
torch.cuda.memory._record_memory_history(max_entries=200000)
model = torch.nn.Sequential(*[torch.nn.Linear(2048, 2048) for _ in range(8)]).cuda()
opt = torch.optim.Adam(model.parameters())
def step():
    x = torch.randn(512, 2048, device="cuda")
    loss = model(x).square().mean()
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
for _ in range(4):
    step()
torch.cuda.synchronize()
facts = {
    "torch": torch.__version__,
    "device": torch.cuda.get_device_name(0),
    "allocated": torch.cuda.memory_allocated(),
    "reserved": torch.cuda.memory_reserved(),
    "max_allocated": torch.cuda.max_memory_allocated(),
    "max_reserved": torch.cuda.max_memory_reserved(),
}
torch.cuda.memory._dump_snapshot(os.path.join(out, "torch_adam_snapshot.pickle"))
torch.cuda.memory._record_memory_history(enabled=None)

from torch.profiler import profile, ProfilerActivity, record_function
with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA], profile_memory=True, record_shapes=True,
             with_stack=True) as prof:
    for i in range(3):
        with record_function("ProfilerStep#%d" % i):
            step()
prof.export_chrome_trace(os.path.join(out, "torch_adam_profile.pt.trace.json"))
try:
    prof.export_memory_timeline(os.path.join(out, "torch_adam_memory.raw.json.gz"), device="cuda:0")
except Exception as e:
    facts["memory_timeline_error"] = repr(e)
json.dump(facts, open(os.path.join(out, "facts.json"), "w"), indent=1)
print(json.dumps(facts))
