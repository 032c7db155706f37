"""Validates vramscope's JSON output against docs/report.schema.json,
docs/timeline.schema.json and docs/replay.schema.json.

Runs samples on simcuda under `vramscope run`, then checks that the reports
(one trace and several), a check verdict, a diff and timelines all validate,
and that documents broken on purpose do not (so this test can fail).

usage: validate_outputs.py VRAMSCOPE SAMPLES_DIR SCHEMA TIMELINE_SCHEMA REPLAY_SCHEMA
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

import jsonschema


def vramscope(binary, args, expect=(0,)):
    result = subprocess.run([binary] + args, capture_output=True, text=True)
    if result.returncode not in expect:
        sys.exit(f"vramscope {' '.join(args)}: exit {result.returncode}: {result.stderr.strip()}")
    return result.stdout


def main():
    binary, samples, schema_path, timeline_schema_path, replay_schema_path = sys.argv[1:6]
    with open(schema_path) as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    with open(timeline_schema_path) as f:
        timeline_schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(timeline_schema)
    timeline_validator = jsonschema.Draft202012Validator(timeline_schema)
    with open(replay_schema_path) as f:
        replay_schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(replay_schema)
    replay_validator = jsonschema.Draft202012Validator(replay_schema)
    documents = {}
    timelines = {}
    replays = {}

    with tempfile.TemporaryDirectory(prefix="vramscope-schema-") as tmp:
        def run(name, command, simulate="--simulate", output=None):
            output = output or os.path.join(tmp, name + ".vstrace")
            vramscope(binary, ["run", "-q", simulate, "-o", output, "--"] + command)
            return output

        adam = run("train_mlp", [os.path.join(samples, "train_mlp")])
        sgd = run("train_sgd", [os.path.join(samples, "train_mlp"), "--optimizer", "sgd"])
        leak = run("leak", [os.path.join(samples, "leak")])
        oom = run("oom", [os.path.join(samples, "oom")], simulate="--simulate=1124MiB")
        kinds = run("kinds", [os.path.join(samples, "kinds")])
        caching = run("caching", [os.path.join(samples, "train_mlp"), "--allocator", "caching"])
        fork_dir = os.path.join(tmp, "fork")
        os.mkdir(fork_dir)
        run("fork", [os.path.join(samples, "fork")], output=fork_dir + "/")

        for name, trace in [("train_mlp", adam), ("leak", leak), ("oom", oom), ("kinds", kinds)]:
            documents["report " + name] = vramscope(binary, ["report", trace, "--json", "-"])
        for trace in sorted(os.listdir(fork_dir)):
            documents["report fork " + trace] = vramscope(binary, ["report", os.path.join(fork_dir, trace), "--json", "-"])
        documents["report fork (ranks)"] = vramscope(binary, ["report", fork_dir, "--json", "-"])
        documents["report ranks"] = vramscope(binary, ["report", adam, leak, oom, "--json", "-"])
        documents["check"] = vramscope(
            binary, ["check", leak, oom, "--max-peak", "1GiB", "--max-leak", "0", "--max-failed", "0", "--json", "-"],
            expect=(1,))
        documents["check new budgets"] = vramscope(
            binary, ["check", leak, oom, "--max-reserved", "1GiB", "--max-growth", "0", "--max-fragmentation", "0.1",
                     "--json", "-"],
            expect=(0, 1))
        documents["diff"] = vramscope(binary, ["diff", sgd, adam, "--fail-above", "10", "--json", "-"], expect=(1,))
        documents["diff kinds"] = vramscope(binary, ["diff", kinds, leak, "--json", "-"])

        for by in ["none", "kind", "site", "category"]:
            for name, trace in [("train_mlp", adam), ("caching", caching), ("kinds", kinds)]:
                timelines[f"timeline {name} by {by}"] = vramscope(
                    binary, ["timeline", trace, "--by", by, "--buckets", "50", "--json", "-"])
        timelines["timeline zoomed"] = vramscope(
            binary, ["timeline", adam, "--from", "1ms", "--to", "3ms", "--resolution", "100us", "--by", "site",
                     "--top", "1", "--json", "-"])
        timelines["timeline after the trace"] = vramscope(
            binary, ["timeline", leak, "--from", "100s", "--to", "101s", "--buckets", "3", "--json", "-"])

        fragment = run("fragment", [os.path.join(samples, "caching_allocator"), "--workload", "fragment"])
        replays["replay"] = vramscope(binary, ["replay", fragment, "--json", "-"])
        replays["replay out of memory, fit"] = vramscope(
            binary, ["replay", fragment, "--capacity", "40MiB", "--fit", "--json", "-"], expect=(1,))
        replays["replay expandable, settings"] = vramscope(
            binary, ["replay", fragment, "--allocator", "torch-expandable", "--max-split-size", "64MiB",
                     "--roundup-power2-divisions", "[256:1,>:4]", "--json", "-"])
        replays["replay exact, driver allocations"] = vramscope(
            binary, ["replay", leak, "--allocator", "exact", "--json", "-"])

    failures = 0
    parsed = {}
    for name, text in list(documents.items()) + list(timelines.items()) + list(replays.items()):
        parsed[name] = json.loads(text)
        chosen = timeline_validator if name in timelines else replay_validator if name in replays else validator
        errors = list(chosen.iter_errors(parsed[name]))
        if errors:
            failures += 1
            best = jsonschema.exceptions.best_match(errors)
            print(f"FAIL {name}: {best.message} at {list(best.absolute_path)}")
    # What a schema cannot say: every array of bucket values has `buckets` entries.
    for name in timelines:
        doc = parsed[name]
        arrays = [doc["starts_ns"]] + [s[k] for s in [doc["allocated"], doc["reserved"]] + doc["groups"]
                                       for k in ("max", "end")]
        if any(len(a) != doc["buckets"] for a in arrays):
            failures += 1
            print(f"FAIL {name}: an array of bucket values does not have {doc['buckets']} entries")

    # Documents broken on purpose: each must be refused.
    report = parsed["report leak"]
    broken = []
    for what, path, value in [
        ("an unknown top-level key", [], ("surprise", 1)),
        ("a peak given as a string", ["devices", 0, "peak"], ("bytes", "14 MiB")),
        ("a negative byte count", ["leaks"], ("bytes", -1)),
        ("an unknown end reason", ["trace", "end"], ("reason", "crash")),
        ("an unknown key in a frame", ["leaks", "groups", 0, "stack", 0], ("inlined", True)),
    ]:
        doc = copy.deepcopy(report)
        target = doc
        for key in path:
            target = target[key]
        target[value[0]] = value[1]
        broken.append((what, doc))
    missing = copy.deepcopy(report)
    del missing["leaks"]["count"]
    broken.append(("a missing required key", missing))
    single_rank = copy.deepcopy(parsed["report ranks"])
    single_rank["ranks"] = single_rank["ranks"][:1]
    broken.append(("a ranks report with one rank", single_rank))
    for what, doc in broken:
        if validator.is_valid(doc):
            failures += 1
            print(f"FAIL: a report with {what} was accepted")

    broken_timelines = []
    by_site = parsed["timeline train_mlp by site"]
    for what, change in [
        ("an unknown top-level key", lambda d: d.update(surprise=1)),
        ("a negative bucket value", lambda d: d["reserved"]["max"].__setitem__(0, -1)),
        ("a size given as a string", lambda d: d["allocated"].update(peak_bytes="64 MiB")),
        ("an unknown grouping", lambda d: d.update(by="thread")),
        ("no top by site", lambda d: d.pop("top")),
        ("a group without its site by site", lambda d: d["groups"][0].pop("site")),
        ("an unknown key in a group", lambda d: d["groups"][0].update(count=3)),
    ]:
        doc = copy.deepcopy(by_site)
        change(doc)
        broken_timelines.append((what, doc))
    by_kind = copy.deepcopy(parsed["timeline caching by kind"])
    by_kind["groups"][0]["site"] = None
    broken_timelines.append(("a site in a group by kind", by_kind))
    for what, doc in broken_timelines:
        if timeline_validator.is_valid(doc):
            failures += 1
            print(f"FAIL: a timeline with {what} was accepted")
    broken += broken_timelines

    broken_replays = []
    for what, change in [
        ("an unknown model", lambda d: d["allocator"].update(model="jemalloc")),
        ("a capacity given as a string", lambda d: d.update(capacity="40 MiB")),
        ("an out-of-memory without its size", lambda d: d["out_of_memory"].pop("size")),
        ("a timeline point of two values", lambda d: d["timeline"]["points"].__setitem__(0, [1, 2])),
    ]:
        doc = copy.deepcopy(parsed["replay out of memory, fit"])
        change(doc)
        broken_replays.append((what, doc))
    for what, doc in broken_replays:
        if replay_validator.is_valid(doc):
            failures += 1
            print(f"FAIL: a replay with {what} was accepted")
    broken += broken_replays

    print(f"{len(documents) + len(timelines) + len(replays)} documents validated, {len(broken)} broken ones refused, "
          f"{failures} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
