"""Resource quantities: Kubernetes-style CPU/memory strings to each platform's units."""

from __future__ import annotations

import math

# Fargate task sizes: CPU units -> allowed memory (MiB), in AWS's documented steps.
_FARGATE: tuple[tuple[int, tuple[int, ...]], ...] = (
    (256, (512, 1024, 2048)),
    (512, tuple(range(1024, 4097, 1024))),
    (1024, tuple(range(2048, 8193, 1024))),
    (2048, tuple(range(4096, 16385, 1024))),
    (4096, tuple(range(8192, 30721, 1024))),
    (8192, tuple(range(16384, 61441, 4096))),
    (16384, tuple(range(32768, 122881, 8192))),
)


def millicores(cpu: str) -> int:
    """'250m' -> 250, '1' -> 1000, '0.5' -> 500."""
    if cpu.endswith("m"):
        return int(cpu[:-1])
    return round(float(cpu) * 1000)


def mebibytes(memory: str) -> int:
    """'512Mi' -> 512, '2Gi' -> 2048."""
    if memory.endswith("Gi"):
        return int(memory[:-2]) * 1024
    return int(memory.removesuffix("Mi"))


def cores(cpu: str) -> str:
    """Decimal cores as compose writes them: '250m' -> '0.25', '2' -> '2'."""
    return f"{millicores(cpu) / 1000:g}"


def fargate_size(cpu: str, memory: str) -> tuple[int, int]:
    """The smallest Fargate (cpu units, memory MiB) pair that holds the given limits."""
    want_cpu = math.ceil(millicores(cpu) * 1024 / 1000)
    want_memory = mebibytes(memory)
    for units, memories in _FARGATE:
        if units < want_cpu:
            continue
        for size in memories:
            if size >= want_memory:
                return units, size
    return _FARGATE[-1][0], _FARGATE[-1][1][-1]


def gigabytes(memory: str) -> float:
    """Memory in GB rounded up to ACI's 0.1 GB steps."""
    return math.ceil(mebibytes(memory) / 1024 * 10) / 10
