"""vramscope's start-up hook for Python jobs run under `vramscope run`.

`vramscope run` puts this folder first on PYTHONPATH, so Python imports this
file at start-up as `sitecustomize`. It arms the framework hooks (see
vramscope_frameworks.py and docs/frameworks.md), then runs the job's own
`sitecustomize`, if there is one further down the path, exactly as Python
would have: its errors are reported by Python's `site` as they would be
without vramscope.
"""


def _arm_vramscope():
    try:
        import vramscope_frameworks
        vramscope_frameworks.arm()
    except Exception as error:  # the job runs on, unrecorded at tensor level
        import sys
        print(f"vramscope: framework hooks not armed: {error}", file=sys.stderr)


def _run_the_jobs_own_sitecustomize():
    import importlib.machinery
    import importlib.util
    import os
    import sys
    here = os.path.dirname(os.path.abspath(__file__))
    path = [p for p in sys.path if os.path.abspath(p or os.curdir) != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is None or spec.loader is None:
        return
    module = importlib.util.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


_arm_vramscope()
_run_the_jobs_own_sitecustomize()
