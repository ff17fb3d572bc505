"""Small numeric helpers for the report."""
from collections import Counter


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..1) of an already sorted list."""
    if not sorted_values:
        return None
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = q * (len(sorted_values) - 1)
    low = int(pos)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (pos - low)


def summary_ms(seconds: list[float]) -> dict:
    """p50/p95/p99/max (and n) in milliseconds of a list of durations in seconds."""
    values = sorted(seconds)
    out = {"n": len(values)}
    for name, q in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99)):
        v = percentile(values, q)
        out[name] = round(v * 1000, 1) if v is not None else None
    out["max"] = round(values[-1] * 1000, 1) if values else None
    out["mean"] = round(sum(values) / len(values) * 1000, 1) if values else None
    return out


def ratio(a, b) -> float | None:
    if a is None or b in (None, 0):
        return None
    return round(a / b, 2)


def counter_dict(counter: Counter) -> dict:
    return dict(sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])))
