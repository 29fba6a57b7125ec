#!/usr/bin/env python3
"""Fork-join of N no-op tasks with BullMQ's Python port, for comparison with
`refold bench coordination` on the same Redis in the same run (not part of the tests).

    pip install bullmq
    scripts/compare-bullmq.py redis://127.0.0.1:6379 --tasks 10000 --workers 2 [--concurrency 1]

A FlowProducer adds one parent with N children; W worker processes complete the children
(no-op); the parent is processed once every child has completed. Prints tasks/s.
"""
import argparse
import asyncio
import multiprocessing
import time

from bullmq import FlowProducer, Worker


def child_worker(url, prefix, concurrency, stop):
    async def run():
        async def process(job, token):
            return None
        worker = Worker(f"{prefix}-children", process, {"connection": url, "concurrency": concurrency})
        while not stop.is_set():
            await asyncio.sleep(0.05)
        await worker.close()
    asyncio.run(run())


async def main(args):
    prefix = f"cmp{int(time.time() * 1000) % 100000000}"
    done = asyncio.Event()

    async def parent(job, token):
        done.set()
        return None

    parent_worker = Worker(f"{prefix}-parents", parent, {"connection": args.url})
    stop = multiprocessing.Event()
    workers = [multiprocessing.Process(target=child_worker, args=(args.url, prefix, args.concurrency, stop)) for _ in range(args.workers)]
    for process in workers:
        process.start()
    flow = FlowProducer({"connection": args.url})
    start = time.time()
    await flow.add({
        "name": "parent", "queueName": f"{prefix}-parents", "data": {},
        "children": [{"name": "child", "queueName": f"{prefix}-children", "data": {"i": i}} for i in range(args.tasks)],
    })
    added = time.time()
    await asyncio.wait_for(done.wait(), timeout=600)
    joined = time.time()
    stop.set()
    for process in workers:
        process.join()
    await parent_worker.close()
    await flow.close()
    seconds = joined - start
    print(f'{{"tasks": {args.tasks}, "workers": {args.workers}, "concurrency": {args.concurrency}, '
          f'"seconds": {seconds:.3f}, "fork_seconds": {added - start:.3f}, "tasks_per_second": {args.tasks / seconds:.1f}}}')


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--tasks", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1)
    asyncio.run(main(parser.parse_args()))
