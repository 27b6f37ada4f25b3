"""Hold the numeric libraries to the kernels every x86-64 CPU with AVX2 runs, AVX-512 or not.

NumPy, OpenBLAS and oneDNN (TensorFlow) pick their kernels by the CPU's vector instructions
when they load, and their AVX-512 kernels round the last bits differently from the AVX2 ones:
features computed with them differ from a CPU without AVX-512's, and so does everything trained
on them. `hold()` sets, before those libraries load, the variables that cap them at AVX2 (a
value already in the environment wins):

- NPY_DISABLE_CPU_FEATURES: NumPy's dispatch targets above X86_V3 (NumPy 2.4 on x86-64
  dispatches X86_V3, X86_V4, AVX512_ICL, AVX512_SPR; naming one the CPU lacks is ignored);
- OPENBLAS_CORETYPE=Haswell (NumPy's OpenBLAS and SciPy's), only where the CPU has AVX2 and
  FMA: OpenBLAS runs a forced core's kernels unchecked, SIGILL on a CPU without them;
- ONEDNN_MAX_CPU_ISA=AVX2 and TF_ENABLE_ONEDNN_OPTS=1: oneDNN also runs TensorFlow's plain
  MatMuls; without its ops, Eigen's products split their sums by thread count.

`genre/__init__.py` calls hold(), so every stage, `genre` command and process that imports the
package before NumPy (and the worker processes they start) gets it. A process started apart
(a Dask worker) needs the variables from whoever starts it: `check_held` says which.
"""

import functools
import os
import platform
import socket

NUMPY_AVX2 = "X86_V3"  # NumPy's dispatch target of AVX2 + FMA (x86-64-v3)
NUMPY_ABOVE_AVX2 = ("X86_V4", "AVX512_ICL", "AVX512_SPR")  # its AVX-512 targets
# OpenBLAS's AVX2 + FMA kernels (its AVX-512 ones: SkylakeX, Cooperlake, SapphireRapids)
OPENBLAS_CORE = "Haswell"
X86_64 = ("x86_64", "amd64")
CPUINFO = "/proc/cpuinfo"
NEEDED_FLAGS = frozenset({"avx2", "fma"})  # what the Haswell kernels execute


def settings(*, machine: str, flags: frozenset[str] | None) -> dict[str, str]:
    """The variables that hold the kernels on a CPU of this `machine` (platform.machine())
    with these `flags` (cpu_flags(); None: unknown, so OpenBLAS is left to pick)."""
    wanted = {"TF_ENABLE_ONEDNN_OPTS": "1", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    if machine.lower() in X86_64:
        wanted["NPY_DISABLE_CPU_FEATURES"] = " ".join(NUMPY_ABOVE_AVX2)
        if flags is not None and flags >= NEEDED_FLAGS:
            wanted["OPENBLAS_CORETYPE"] = OPENBLAS_CORE
    return wanted


def cpu_flags(path: str = CPUINFO) -> frozenset[str] | None:
    """This CPU's feature flags as Linux lists them (the first `flags` line of /proc/cpuinfo),
    or None where there is no such line (another system)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith("flags"):
                    return frozenset(line.partition(":")[2].split())
    except OSError:
        return None
    return None


def hold(environ=None) -> dict[str, str]:
    """Set settings() for this machine in `environ` (os.environ) where absent; return them.
    Takes effect in this process only if NumPy, OpenBLAS and TensorFlow are not loaded yet."""
    environ = os.environ if environ is None else environ
    wanted = settings(machine=platform.machine(), flags=cpu_flags())
    if environ.get("NPY_ENABLE_CPU_FEATURES"):  # NumPy refuses both at once: the user's wins
        wanted.pop("NPY_DISABLE_CPU_FEATURES", None)
    for name, value in wanted.items():
        environ.setdefault(name, value)
    return wanted


def unheld() -> list[str]:
    """What runs other kernels than the held ones in this process: [] when all are held, and
    where this CPU cannot run them anyway (not x86-64, or no AVX2 and FMA): nothing to hold."""
    from numpy._core import _multiarray_umath as numpy_cpu
    from threadpoolctl import threadpool_info

    have = numpy_cpu.__cpu_features__
    if platform.machine().lower() not in X86_64 or not (have["AVX2"] and have["FMA3"]):
        return []
    found = []
    above = [name for name in numpy_cpu.__cpu_dispatch__ if have[name] and name != NUMPY_AVX2]
    if above:
        found.append(f"NumPy dispatches {', '.join(above)}")
    cores: dict[str, list[str]] = {}  # NumPy's and SciPy's OpenBLAS: core -> libraries
    for library in threadpool_info():
        core = library.get("architecture")
        if library["internal_api"] == "openblas" and core != OPENBLAS_CORE:
            cores.setdefault(core, []).append(os.path.basename(library["filepath"]))
    found += [f"OpenBLAS runs its {c} kernels ({', '.join(n)})" for c, n in cores.items()]
    return found


def held() -> bool:
    """Whether this process runs the held kernels (or this CPU has none to hold)."""
    return not unheld()


@functools.cache
def _unheld_here() -> tuple[str, ...]:
    return tuple(unheld())  # fixed once the libraries are loaded: checked once per process


def check_held(*, what: str) -> None:
    """Refuse (GenreError, one line) to compute `what` in a process whose kernels are not held:
    its results would differ in the last bits from every other machine's. Checked once."""
    found = _unheld_here()
    if not found:
        return
    from genre.errors import GenreError

    numpy = " ".join(NUMPY_ABOVE_AVX2)
    variables = f'NPY_DISABLE_CPU_FEATURES="{numpy}" OPENBLAS_CORETYPE={OPENBLAS_CORE}'
    raise GenreError(
        f"{what} on {socket.gethostname()} (process {os.getpid()}): {'; '.join(found)}, not "
        "the AVX2 kernels every x86-64 machine shares, so its results would differ in the last "
        f"bits: start that process with {variables} in its environment (a Dask worker: "
        f"`{variables} dask worker ...`; Python: import genre before numpy)"
    )


def keras():
    """Keras (and TensorFlow), imported with the settings above and without TF's start-up
    notes: TF 2.21 prints absl's "All log messages before absl::InitializeLog()" and a oneDNN
    note past TF_CPP_MIN_LOG_LEVEL, so file descriptor 2 is hidden while it loads (import
    errors still raise)."""
    from genre.errors import native_stderr_hidden

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with native_stderr_hidden():
        import keras

    return keras
