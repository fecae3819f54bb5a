"""gunicorn settings: the one place the production server is configured.

Every value can be overridden for one run with GUNICORN_CMD_ARGS, e.g.
GUNICORN_CMD_ARGS="--workers 3" make run.
"""

import ctypes
import ctypes.util
import functools
import gc
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

# Docstrings are for readers of the code: the server runs without them
# (python -OO), about 2 MiB less resident in the master and in each worker
# (benchmarks/http_bench.sh). Nothing installed reads docstrings at run time
# (but django.contrib.admindocs, which is not). gunicorn reads this file
# first thing: it starts again so, with the same command and process id.
if __name__ == "__config__" and sys.flags.optimize < 2:
    os.execv(sys.executable, [sys.executable, "-OO", *sys.orig_argv[1:]])

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"

# 2 x cores + 1, but at most 5: every worker holds its own copy of Django, and
# on a small machine more workers only queue for the CPU.
workers = int(
    os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 5))
)
# Threads rather than sync workers: measured with benchmarks/http_bench.sh on
# 2 cores, gthread served every page faster, directly (it keeps connections
# alive) and behind nginx (keepalive upstream). Each thread holds its own
# database connection: servers x workers x threads < PostgreSQL's limit.
worker_class = "gthread"
threads = 4
keepalive = 5

# Load Django once in the master: workers fork with it already imported, share
# its memory, and a recycled worker is ready in milliseconds.
preload_app = True
# Recycle workers now and then (a slow leak cannot grow for ever); the jitter
# keeps them from restarting together. High enough that no worker restarts
# during benchmarks/http_bench.sh (~100,000 requests): a recycled worker drops
# its kept-alive connections, which wrk counts as errors.
max_requests = 100000
max_requests_jitter = 10000

timeout = 30
graceful_timeout = 20
# The heartbeat file on tmpfs: a busy disk never makes a worker look dead.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The app logs one key=value line per request, with its request id
# (newsroom/request_log.py): gunicorn's own access log would repeat it.
accesslog = None
# gunicorn's own events (workers booting, timing out) in the same one-line
# key=value format as the app's, on standard error.
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"key_value": {"()": "newsroom.request_log.KeyValueFormatter"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "key_value",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["console"], "propagate": False}
    },
}

# `make run` starts the background task worker beside the server
# (NEWSROOM_TASK_WORKER=1), so one machine needs one command: photo renditions
# and imports run in it (articles/tasks.py). Under systemd the worker is a unit
# of its own instead (deploy/systemd/newsroom-worker.service).
RUN_TASK_WORKER = os.environ.get("NEWSROOM_TASK_WORKER") == "1"
TASK_WORKER_ENV = dict(os.environ)  # without the web workers' settings below

# Each thread's SQLite connection keeps 256 KiB of pages instead of SQLite's
# 2 MiB (newsroom/settings.py): a worker's four held 7 MiB with the default,
# 2.4 MiB so. The OS keeps the file in memory anyway, and another process's
# write empties these caches (WAL); reader pages took no measurable extra CPU.
# The task worker, which imports, keeps the larger cache (imports ran about
# 5% faster with it).
os.environ.setdefault("NEWSROOM_SQLITE_CACHE_KIB", "256")
# And each keeps 32 compiled statements instead of Python's 128: the reader
# pages run a few dozen distinct ones, and four connections' caches of 128
# held about 4 MiB of a worker, 2.3 MiB at 32 (benchmarks/http_bench.sh).
os.environ.setdefault("NEWSROOM_SQLITE_CACHED_STATEMENTS", "32")

PR_SET_PDEATHSIG = 1  # prctl(2): the signal a process gets when its parent dies
# mallopt(3) parameters.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
# Every so many requests a worker gives glibc's free pages back (0.2 ms, so
# under 0.01 ms a request).
TRIM_EVERY = 25


@functools.cache
def libc():
    return ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)


def glibc(name):
    """glibc's function `name`, or None (another system, or musl's libc)."""
    return getattr(libc(), name, None) if sys.platform == "linux" else None


def tune_malloc():
    """glibc's allocator, set in the master before the app loads, so every
    worker inherits it. By default each thread gets an arena of its own whose
    freed memory no other thread reuses, and large blocks that were freed
    raise the thresholds so later ones stay in the heap: a worker's threads
    then keep every transient peak (a long query result, SQLite's sorter, a
    page being rendered) resident. Two arenas suffice under the GIL, and
    fixed thresholds give blocks of 128 KiB or more back when freed
    (benchmarks/http_bench.sh: about 10 MiB less per worker)."""
    mallopt = glibc("mallopt")
    if mallopt is not None:
        mallopt(M_ARENA_MAX, 2)
        mallopt(M_MMAP_THRESHOLD, 128 * 1024)
        mallopt(M_TRIM_THRESHOLD, 128 * 1024)


def malloc_trim():
    """Gives the pages glibc holds free, wherever they are, back to the system."""
    trim = glibc("malloc_trim")
    if trim is not None:
        trim(0)


tune_malloc()


def task_worker_command():
    manage = [sys.executable, str(Path(__file__).with_name("manage.py"))]
    if os.environ.get("TASKS_REDIS_URL"):
        return [*manage, "rqworker", "default"]
    return [*manage, "db_worker", "--no-reload"]


def stop_with_parent():
    """In the worker, before it starts: the kernel ends it should gunicorn be
    killed outright (on_exit never runs then), so no worker outlives it."""
    prctl = glibc("prctl")
    if prctl is not None:
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def when_ready(server):
    if RUN_TASK_WORKER:
        # A session of its own: Ctrl-C reaches gunicorn only, and on_exit then
        # stops the worker once, letting it finish the task in hand.
        server.task_worker = subprocess.Popen(
            task_worker_command(),
            env=TASK_WORKER_ENV,
            start_new_session=True,
            preexec_fn=stop_with_parent,
        )
        server.log.info("Started the task worker (pid %s)", server.task_worker.pid)


def pre_fork(server, worker):
    """In the master, before each worker forks: what it loaded (Django, the
    app) is shared with the workers. Its garbage goes first and glibc hands
    the freed pages back; the rest is frozen, so a worker's collector neither
    writes to those objects (which would copy their pages into the worker)
    nor spends time on them. Full collections, which then only look at the
    worker's own objects, cost little, so they come five times as often: a
    request's reference cycles are freed before their memory piles up
    (about 4 MiB less per worker, with no CPU time measurable)."""
    gc.collect()
    malloc_trim()
    gc.freeze()
    gen0, gen1, _ = gc.get_threshold()
    gc.set_threshold(gen0, gen1, 2)


def post_request(worker, req, environ, resp):
    if worker.nr % TRIM_EVERY == 0:
        malloc_trim()


def on_exit(server):
    worker = getattr(server, "task_worker", None)
    if worker is None or worker.poll() is not None:
        return
    worker.terminate()
    try:
        worker.wait(timeout=graceful_timeout)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
    server.log.info("Stopped the task worker (pid %s)", worker.pid)
