"""Run under ``mpiexec -n 2`` with a mode; the job must end quickly and non-zero:

* ``raise``: rank 1 raises while rank 0 waits in an all_reduce it will never complete;
  the excepthook prints the traceback with the rank and aborts every rank.
* ``timeout``: rank 1 stalls (no error); rank 0's all_reduce passes the group's 1 s
  timeout and aborts the job with a message saying which collective hung.
"""
import sys
import time
from datetime import timedelta

import tinygrad_cn as torch
import tinygrad_cn.distributed as dist


def main(mode):
    dist.init_process_group("mpi", timeout=timedelta(seconds=1) if mode == "timeout" else None)
    rank = dist.get_rank()
    dist.barrier()
    if rank == 1:
        if mode == "raise":
            raise ValueError("boom")
        time.sleep(60)
    dist.all_reduce(torch.ones(3))
    print("unreachable: the all_reduce completed", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
