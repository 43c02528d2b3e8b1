"""Compiling and loading the C kernels: the sources in ``csrc/`` are built
with the machine's C compiler into a per-user cache on first use, once per
library (:data:`UNITS`: the convolutions, the optimizer updates, and a
small one that tells which instruction sets the CPU runs) and instruction
set (``avx512``, ``avx2``, ``portable``), and loaded with ctypes.

The cache is ``$SEPCONV_KERNEL_CACHE`` or ``~/.cache/sepconv/kernels``; a
library's file name carries a hash of the sources, flags and compiler, so an
upgrade or another compiler builds afresh. A build goes to a temporary file
that is renamed into place, so processes building at the same time never load
half a library.

>>> library = load("portable", "cpu")
>>> library.sc_isa().decode()
'portable'
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import platform
import shutil
import subprocess
import tempfile

ISA_FLAGS = {
    "avx512": ("-mavx512f", "-mavx512vl", "-mavx512bw", "-mavx512dq", "-mavx2", "-mfma"),
    "avx2": ("-mavx2", "-mfma"),
    "portable": (),
}
BASE_FLAGS = ("-O3", "-std=c11", "-ffp-contract=fast", "-fno-math-errno",
              "-D_POSIX_C_SOURCE=200809L", "-fPIC", "-shared", "-pthread")
SOURCE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "csrc")
# Each library and its C files (each also sees every header). Kept apart so
# that the first optimizer step does not wait for the convolutions to build.
UNITS = {
    "convolutions": ("backward.c", "cpu.c", "depthwise.c", "parallel.c", "separable.c"),
    "optimizer_updates": ("cpu.c", "optimizer_updates.c", "parallel.c"),
    "cpu": ("cpu.c",),
}
# The entry points of each library and how many arguments (all pointers).
ENTRY_POINTS = {
    "convolutions": {"sc_separable_forward": 6, "sc_depthwise_forward": 5,
                     "sc_separable_backward": 9, "sc_depthwise_backward": 7},
    "optimizer_updates": {"sc_adam_moments": 2, "sc_adam_weights": 2},
    "cpu": {},
}


def _headers():
    """The csrc headers, sorted (what the package ships)."""
    return sorted(name for name in os.listdir(SOURCE_DIR) if name.endswith(".h"))


def _sources(unit):
    if unit not in UNITS:
        raise ValueError(f"`unit` must be one of {sorted(UNITS)}. Received: unit={unit!r}")
    return UNITS[unit]


class KernelBuildError(RuntimeError):
    """The C kernels could not be compiled or loaded (no compiler, a failed
    build); sepconv then runs on PyTorch's own convolutions."""


def cache_dir() -> str:
    """Where built libraries are kept."""
    configured = os.environ.get("SEPCONV_KERNEL_CACHE")
    if configured:
        return configured
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "sepconv", "kernels")


def compiler() -> str:
    """The C compiler: ``$CC``, else ``gcc``, else ``cc``."""
    for candidate in (os.environ.get("CC"), "gcc", "cc"):
        if candidate and shutil.which(candidate):
            return candidate
    raise KernelBuildError("No C compiler found (tried $CC, gcc and cc).")


@functools.lru_cache(maxsize=None)
def _compiler_version(cc) -> str:
    try:
        return subprocess.run([cc, "--version"], capture_output=True, text=True,
                              timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as error:
        raise KernelBuildError(f"{cc} --version failed: {error}") from None


def _flags(isa):
    if isa not in ISA_FLAGS:
        raise ValueError(
            f"`isa` must be one of {sorted(ISA_FLAGS)}. Received: isa={isa!r}"
        )
    if isa != "portable" and platform.machine().lower() not in ("x86_64", "amd64"):
        raise KernelBuildError(f"The {isa} kernels need an x86-64 CPU; this is "
                               f"{platform.machine()}.")
    return BASE_FLAGS + ISA_FLAGS[isa] + (("-fopenmp",) if _torch_runs_openmp() else ())


@functools.lru_cache(maxsize=None)
def _torch_runs_openmp() -> bool:
    """Whether torch's intra-op threads are OpenMP's (libgomp): the kernels
    then run their loops on the same thread pool (see csrc/parallel.h)."""
    import torch

    return "parallel backend: OpenMP" in torch.__config__.parallel_info()


def library_path(isa, unit="convolutions") -> str:
    """The cached library ``unit`` for ``isa`` (built or not)."""
    cc = compiler()
    digest = hashlib.sha256()
    for name in (*_sources(unit), *_headers()):
        with open(os.path.join(SOURCE_DIR, name), "rb") as handle:
            digest.update(name.encode() + b"\0" + handle.read())
    digest.update(" ".join(_flags(isa)).encode() + _compiler_version(cc).encode())
    return os.path.join(cache_dir(), f"libsepconv_{unit}_{isa}_{digest.hexdigest()[:16]}.so")


def _build(isa, unit, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    handle, temporary = tempfile.mkstemp(suffix=".so", dir=os.path.dirname(path))
    os.close(handle)
    command = [compiler(), *_flags(isa), *(os.path.join(SOURCE_DIR, s) for s in _sources(unit)),
               "-o", temporary]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise KernelBuildError(
                f"Building the {isa} {unit} kernels failed:\n{' '.join(command)}\n"
                f"{result.stderr[-4000:]}")
        os.replace(temporary, path)
    except (OSError, subprocess.SubprocessError) as error:
        raise KernelBuildError(f"Building the {isa} {unit} kernels failed: {error}") from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def load(isa, unit="convolutions") -> ctypes.CDLL:
    """The library ``unit`` (a key of :data:`UNITS`) for ``isa``, built
    first if it is not cached."""
    path = library_path(isa, unit)
    if not os.path.exists(path):
        _build(isa, unit, path)
    try:
        library = ctypes.CDLL(path)
    except OSError as error:
        raise KernelBuildError(f"Loading {path} failed: {error}") from None
    library.sc_isa.restype = ctypes.c_char_p
    library.sc_cpu_supports.argtypes = [ctypes.c_char_p]
    # The kernels take a geometry (or a step's description) and buffers.
    for name, pointers in ENTRY_POINTS[unit].items():
        getattr(library, name).argtypes = [ctypes.c_void_p] * pointers
    return library
