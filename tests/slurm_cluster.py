"""A real one-node SLURM cluster on localhost for the sweep tests: munged, slurmctld and
slurmd (Debian's slurm-wlm and munge) run as root from a temporary folder, on free ports,
with their own slurm.conf; clients reach it through SLURM_CONF."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

DAEMONS = {"munged": "/usr/sbin/munged", "slurmctld": "/usr/sbin/slurmctld", "slurmd": "/usr/sbin/slurmd"}
CLIENTS = ("sbatch", "squeue", "scancel", "sinfo")


def unavailable() -> str | None:
    """Why a cluster cannot be started here, or None."""
    if os.name != "posix" or os.geteuid() != 0:
        return "SLURM tests need root (slurmd runs jobs as root here); CI runs them as root"
    missing = [n for n, p in DAEMONS.items() if not Path(shutil.which(n) or p).is_file()]
    missing += [n for n in CLIENTS if shutil.which(n) is None]
    if missing:
        return f"SLURM not installed ({', '.join(missing)} missing): apt-get install -y slurm-wlm munge"
    return None


def _free_ports(count: int) -> list[int]:
    socks = [socket.socket() for _ in range(count)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _memory_mb() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 1024


class Cluster:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.procs: list[subprocess.Popen] = []
        self.node = "seqsinode"
        self.cpus = os.cpu_count() or 1
        self.conf = self.root / "slurm.conf"
        self.env = {**os.environ, "SLURM_CONF": str(self.conf)}

    def _path(self, name: str) -> str:
        return shutil.which(name) or DAEMONS[name]

    def write_conf(self) -> None:
        r = self.root
        for sub in ("munge", "state", "spool", "log"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        (r / "munge").chmod(0o755)
        key = r / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        ctld_port, d_port = _free_ports(2)
        self.conf.write_text(f"""\
ClusterName=seqsitest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort={ctld_port}
SlurmdPort={d_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={r}/munge/munge.sock
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/slurmctld.pid
SlurmdPidFile={r}/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
MinJobAge=60
NodeName={self.node} NodeHostname={socket.gethostname()} NodeAddr=127.0.0.1 CPUs={self.cpus} RealMemory={int(_memory_mb() * 0.8)} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
""")

    def _daemon(self, name: str, *args: str) -> None:
        log = open(self.root / "log" / f"{name}.out", "wb")
        self.procs.append(subprocess.Popen([self._path(name), *args], stdout=log, stderr=subprocess.STDOUT,
                                           stdin=subprocess.DEVNULL, env=self.env))

    def start(self, timeout: float = 40.0) -> None:
        r = self.root
        self.write_conf()
        self._daemon("munged", "-F", "-f", f"--socket={r}/munge/munge.sock", f"--key-file={r}/munge/munge.key",
                     f"--log-file={r}/log/munged.log", f"--pid-file={r}/munge/munged.pid",
                     f"--seed-file={r}/munge/munged.seed")
        self._wait(lambda: (r / "munge" / "munge.sock").exists(), 10, "munged")
        self._daemon("slurmctld", "-D", "-f", str(self.conf))
        self._daemon("slurmd", "-D", "-f", str(self.conf), "-N", self.node)
        self._wait(self.idle, timeout, "slurmctld/slurmd (node idle)")

    def idle(self) -> bool:
        done = self.run("sinfo", "-h", "-N", "-o", "%T", check=False)
        return done.returncode == 0 and done.stdout.strip().startswith("idle")

    def _wait(self, ready, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            dead = [p for p in self.procs if p.poll() is not None]
            if dead:
                break
            time.sleep(0.2)
        raise RuntimeError(f"{what} did not come up: {self.logs_tail()}")

    def logs_tail(self) -> str:
        tails = []
        for log in sorted((self.root / "log").glob("*")):
            lines = log.read_text(errors="replace").strip().splitlines()[-3:]
            tails.append(f"{log.name}: {' / '.join(lines)}")
        return "; ".join(tails)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(list(args), capture_output=True, text=True, env=self.env, timeout=60)
        if check and done.returncode:
            raise RuntimeError(f"{' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def jobs(self) -> list[str]:
        """Array task ids (JOB_TASK) still pending or running."""
        return self.run("squeue", "-h", "-r", "-o", "%i").stdout.split()

    def wait_empty(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.jobs():
            if time.monotonic() > deadline:
                raise TimeoutError(f"SLURM jobs still queued after {timeout:.0f} s: {self.jobs()}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.procs and self.procs[-1].poll() is None:
            self.run("scancel", "--user=root", check=False)
            try:
                self.wait_empty(20)
            except Exception:  # noqa: BLE001 - stopping anyway
                pass
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
