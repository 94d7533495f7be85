"""Where the listener's CPU goes, per message: cProfile over ``mllp.handle_blocks`` in a
loop, ``--group`` messages at a time (the listener's group commit; 1: one at a time).

Same messages, sender and patients as ``bench/mllp.py`` (no socket, no worker): prints the
SQL queries of one message, messages per CPU second of the loop, and the top functions by
cumulative and own CPU time (the profiler counts CPU time, not wall).

DATABASE_URL=postgres://postgres@127.0.0.1:5432/mmm_bench python bench/mllp_profile.py --messages 300
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import random
import time
from datetime import timedelta

from harness import setup_django
from mllp import bench_patients, message


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--group", type=int, default=16, help="messages per group commit")
    args = parser.parse_args()
    setup_django()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from monitoring.interop import mllp

    mrns = bench_patients()
    rng = random.Random(12)  # noqa: S311 - load pattern, not security
    run_id = int(time.time()) + 7
    base = timezone.now() - timedelta(days=2000)
    blocks = [
        message(run_id * 10_000 + n, mrns[n % len(mrns)], base + timedelta(minutes=n), rng)[1:-2]
        for n in range(args.messages + args.group + 1)
    ]
    mllp.handle_block(blocks.pop())  # warm caches and connection
    first = [blocks.pop() for _ in range(args.group)]
    with CaptureQueriesContext(connection) as one:
        acks = mllp.handle_blocks(first)
    print(
        f"SQL queries of a group of {args.group}: {len(one.captured_queries)} "
        f"({sorted({a.split(b'MSA|')[1][:2].decode() for a in acks})})"
    )
    for q in one.captured_queries:
        print("  ", q["sql"][:150])
    profiler = cProfile.Profile(time.process_time)  # CPU time, not wall
    cpu = time.process_time()
    profiler.enable()
    for start in range(0, len(blocks), args.group):
        mllp.handle_blocks(blocks[start : start + args.group])
    profiler.disable()
    cpu = time.process_time() - cpu
    n = len(blocks)
    print(f"{n} messages, {cpu:.2f} s CPU: {n / cpu:.0f} messages per CPU second (profiled)")
    for order in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(args.top)
        print(out.getvalue())


if __name__ == "__main__":
    main()
