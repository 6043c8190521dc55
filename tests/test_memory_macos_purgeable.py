"""macOS's free memory as cnnlab reads it from vm_stat: purgeable pages also sit on the
active and inactive queues, so counting them beside free and inactive ones counted some
twice (the memory check let through a folder that did not fit by that much)."""

from __future__ import annotations

from cnnlab.data import memory

PAGE = 16384
VM_STAT = f"""\\
Mach Virtual Memory Statistics: (page size of {PAGE} bytes)
Pages free:                                3000.
Pages active:                            200000.
Pages inactive:                          100000.
Pages speculative:                          500.
Pages wired down:                         90000.
Pages purgeable:                          50000.
"""


def test_purgeable_pages_are_not_counted_twice():
    assert memory.macos_available_memory(VM_STAT) == PAGE * (3000 + 500 + 100000)
