"""The machine and the command a result came from: versions, CPU and GPU, the command
line, when and where it ran. Every run's summary.json and every bench result carries it."""

from __future__ import annotations

import datetime as dt
import os
import platform
import socket
import sys
from pathlib import Path

# Its home is shell_words, where the data package (which must not import train) reaches
# it; kept importable from here for code that imported it so.
from cnnlab.shell_words import shell_quote


def command_line() -> str:
    """This process's command, as one could type it again: ``python -m cnnlab ...`` for
    the module (it read "__main__.py design run ..."), ``torchrun --nproc_per_node=N -m
    cnnlab ...`` for a torchrun job's processes, arguments with spaces quoted
    (``--override 'convs_per_stage=[2, 2, 2]'`` had lost its quotes). Python with no
    command to type again says where it ran: a Jupyter kernel (it read
    "ipykernel_launcher.py -f /tmp/tmpkopmyzeh.json ...", a file gone with the kernel),
    ``python -c``, an interactive interpreter."""
    program = Path(sys.argv[0])
    arguments = " ".join(map(shell_quote, sys.argv[1:]))
    if program.name == "__main__.py" and program.parent.name == "cnnlab":
        from cnnlab.train.distributed import launch_command, launched_world_size

        world_size = launched_world_size()  # torchrun's processes: its command, not python's
        return (launch_command(arguments, world_size) if world_size > 1
                else f"python -m cnnlab {arguments}")
    if in_jupyter_kernel():
        notebook = notebook_path()
        return f"Python (Jupyter kernel{f', notebook {notebook}' if notebook else ''})"
    if sys.argv[0] == "-c":  # its code is not in sys.argv
        return f"python -c (its code is not recorded) {arguments}".rstrip()
    if sys.argv[0] in ("", "-"):
        return "Python (interactive)" if sys.argv[0] == "" else "Python (a script from stdin)"
    return f"{program.name} {arguments}".rstrip()


def cnnlab_program() -> bool:
    """Whether cnnlab runs as its command line, not called from Python (a notebook, a
    script): what a message names to go on with, ``cnnlab resume RUN`` or
    ``resume('RUN')``, ``--lr`` or ``lr=``, depends on it. The command's package,
    cnnlab.cli, is loaded by the command alone (also where its app is invoked in this
    process, as tests do), never by the library; the program itself (its script, ``python
    -m cnnlab``, torchrun's ``-m cnnlab``) is told as relaunch_command tells it."""
    program = Path(sys.argv[0])
    return "cnnlab.cli" in sys.modules or program.stem == "cnnlab" or (
        program.name == "__main__.py" and program.parent.name == "cnnlab")


def as_given(flag: str, argument: str) -> str:
    """What a message names to change: ``flag`` (the command line's words, "--workers 4")
    for the command, ``argument`` (a call's, "workers=4") from Python, whose caller typed
    no flag."""
    return flag if cnnlab_program() else argument


def python_resume(run_dir) -> str | None:
    """``resume('RUN')`` (with ``data=...`` for a run of data given to train(): its
    data.json), how a caller from Python goes on with ``run_dir``; None for the command
    line, whose messages name ``cnnlab resume RUN`` (and named only that to Python)."""
    if cnnlab_program():
        return None
    from cnnlab.train.run_files import python_resume_call  # it imports this module

    return python_resume_call(run_dir)


def in_jupyter_kernel() -> bool:
    """Whether this process is a Jupyter kernel (ipykernel: a notebook, VS Code's too)."""
    program = Path(sys.argv[0])
    return program.name == "ipykernel_launcher.py" or (program.name == "__main__.py"
                                                       and program.parent.name == "ipykernel")


def notebook_path() -> str | None:
    """The notebook a Jupyter kernel runs, where it is told: Jupyter Server sets
    JPY_SESSION_NAME to it, VS Code puts ``__vsc_ipynb_file__`` among the notebook's
    variables (IPython's __main__). None where neither does (nbclient, a console)."""
    named = os.environ.get("JPY_SESSION_NAME") or getattr(
        sys.modules.get("__main__"), "__vsc_ipynb_file__", None)
    return str(named) if named else None


def command_entry() -> dict:
    """This process's command line, when and where it ran, and on how many torch CPU
    threads: one entry of a run's history. The threads are there because a CPU's float
    sums are split by them: a run resumed on another count (``--threads`` holds for one
    session) is close to the uninterrupted one, not equal bit for bit, and summary.json's
    machine record gives only the last session's count."""
    import torch

    return {"command": command_line(),
            "date": dt.datetime.now().isoformat(timespec="seconds"),
            "hostname": socket.gethostname(),
            "torch_threads": torch.get_num_threads()}


def environment_info() -> dict:
    """Versions, machine and command: evidence that travels with every result."""
    import numpy
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": numpy.__version__,
        "platform": platform.platform(),
        "processor": processor(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        **command_entry(),
    }
    try:
        import torchvision

        info["torchvision"] = torchvision.__version__
    except ImportError:
        pass
    from cnnlab import __version__

    info["cnnlab"] = __version__
    cores = cpu_core_kinds()
    if cores:
        info["cpu_cores"] = cores
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
        info["cuda"] = torch.version.cuda
    return info


def cpu_model(cpuinfo: str | Path = "/proc/cpuinfo") -> str:
    """The CPU's model name ("Intel Xeon Gold 6338 CPU @ 2.00GHz", trademark marks
    dropped): Linux's 'model name', macOS's brand string, Windows' ProcessorNameString,
    else what the platform says, else the architecture."""
    try:
        for line in Path(cpuinfo).read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return _without_marks(value)
    except OSError:  # not Linux
        pass
    if platform.system() == "Darwin":
        brand = _sysctl("machdep.cpu.brand_string").get("machdep.cpu.brand_string")
        if brand:
            return _without_marks(brand)  # an Intel Mac's says "Intel(R) Core(TM)"
        return processor()
    if platform.system() == "Windows":  # platform.processor() says "Intel64 Family 6 ..."
        try:
            import winreg

            with winreg.OpenKey(winreg.HKEY_LOCAL_MACHINE,
                                r"HARDWARE\DESCRIPTION\System\CentralProcessor\0") as key:
                name = str(winreg.QueryValueEx(key, "ProcessorNameString")[0])
            if name.strip():
                return _without_marks(name)
        except (ImportError, OSError):
            pass
    return platform.processor() or platform.machine() or "unknown CPU"


def _without_marks(name: str) -> str:
    for mark in ("(R)", "(TM)", "(tm)"):
        name = name.replace(mark, "")
    return " ".join(name.split())


def processor() -> str:
    """The CPU's architecture as Python runs on it ("x86_64", "arm64"). On macOS
    platform.processor() says "i386" for every Intel Mac, 64-bit as they all are, and
    "arm" on Apple silicon, so the machine's is given; and a Python for Intel run by
    Rosetta 2 on Apple silicon (slower, and without MPS) is said to be."""
    if platform.system() != "Darwin":
        return platform.processor() or platform.machine()
    machine = platform.machine()
    if _sysctl("sysctl.proc_translated").get("sysctl.proc_translated") == "1":
        return f"{machine} (Rosetta 2 on an arm64 Mac)"
    return machine


def cpu_core_kinds() -> str | None:
    """The cores of each kind where a Mac has two ("8 performance + 2 efficiency"), else
    None. os.cpu_count() counts both alike, and an efficiency core does a fraction of a
    performance core's work: a thread count or a speed reads otherwise without this."""
    if platform.system() != "Darwin":
        return None
    names = [f"hw.perflevel{i}.{key}" for i in (0, 1) for key in ("logicalcpu", "name")]
    values = _sysctl("hw.nperflevels", *names)
    if values.get("hw.nperflevels") != "2" or len(values) < 5:  # an Intel Mac's: one kind
        return None
    return " + ".join(f"{values[f'hw.perflevel{i}.logicalcpu']} "
                      f"{values[f'hw.perflevel{i}.name'].lower()}" for i in (0, 1))


def _sysctl(*names: str) -> dict[str, str]:
    """The values macOS's sysctl gives for ``names``, of those it has ({} where there is
    no sysctl). Each line it prints is "name: value"; an unknown name is said on stderr."""
    import subprocess

    try:
        out = subprocess.run(["sysctl", *names], capture_output=True, text=True,
                             timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return {}
    values = {}
    for line in out.splitlines():
        name, _, value = line.partition(": ")
        if name in names and value.strip():
            values[name] = value.strip()
    return values


def usable_cores() -> int:
    """The cores this process may run on (a container's or taskset's), not the host's:
    what thread counts are checked against (predict, onnxruntime, design sweeps)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)
