"""Side-by-side timing used by every benchmark: ours and the reference, interleaved in one process.

Interleaving (ours, reference, ours, reference, ...) exposes both to the same machine state (thermal, other load),
so the ratio of medians is far steadier than two separate runs. Peak memory: CUDA's allocator peak on a GPU; on the
CPU the peak resident set size during one extra run of the candidate alone, minus the resident set size before it:
the memory that one call adds at its peak. Freed heap memory is first handed back to the OS (glibc `malloc_trim`),
otherwise a call could reuse what an earlier one left resident and show nothing; the peak is the kernel's own
high-water mark (VmHWM, reset through /proc/self/clear_refs), or the highest of millisecond samples where that
reset is not allowed.
"""

import argparse
import ctypes
import ctypes.util
import gc
import statistics
import threading
import time
from collections.abc import Callable

import torch


def common_arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=7, help="timed repeats of each candidate (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs of each candidate first")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    return parser


def synchronize(device):
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()


def _peak_memory_mb(function: Callable[[], object], device) -> float:
    gc.collect()
    if torch.device(device).type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        function()
        synchronize(device)
        return torch.cuda.max_memory_allocated() / 2**20
    _release_free_heap()
    if _reset_peak_resident():
        before = _status_bytes("VmRSS")
        function()
        return (_status_bytes("VmHWM") - before) / 2**20
    before = _status_bytes("VmRSS")
    peak = before
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _status_bytes("VmRSS"))
            time.sleep(0.001)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        function()
    finally:
        done.set()
        sampler.join()
    return (max(peak, _status_bytes("VmRSS")) - before) / 2**20


def _release_free_heap():
    libc_name = ctypes.util.find_library("c")
    try:
        ctypes.CDLL(libc_name).malloc_trim(0)
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to hand back this way
        pass


def _reset_peak_resident() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")  # 5: reset the peak resident set size (VmHWM) to the current one
        return True
    except OSError:
        return False


def _status_bytes(field: str) -> int:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"/proc/self/status has no {field}")


def compare(
    candidates: dict[str, Callable[[], object]],
    units_per_call: float,
    unit: str,
    device,
    repeats: int = 7,
    warmup: int = 2,
) -> dict[str, dict[str, float]]:
    """Times each candidate `repeats` times, interleaved; returns per-candidate median seconds and throughput."""
    for function in candidates.values():
        for _ in range(warmup):
            function()
    synchronize(device)
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, function in candidates.items():
            synchronize(device)
            start = time.perf_counter()
            function()
            synchronize(device)
            times[name].append(time.perf_counter() - start)
    results = {}
    for name, function in candidates.items():
        median = statistics.median(times[name])
        results[name] = {
            "median_s": median,
            "throughput": units_per_call / median,
            "peak_mb": _peak_memory_mb(function, device),
        }
    return results


def report(title: str, results: dict[str, dict[str, float]], unit: str, reference: str):
    """Prints one line per candidate and its ratio against `reference` (> 1: faster than the reference)."""
    print(f"\n== {title}")
    base = results[reference]["throughput"]
    for name, result in results.items():
        print(
            f"  {name:<34} {result['throughput']:>12.1f} {unit}/s   median {result['median_s'] * 1e3:8.1f} ms   "
            f"peak mem {result['peak_mb']:8.1f} MB   ratio vs {reference}: {result['throughput'] / base:5.2f}x"
        )
