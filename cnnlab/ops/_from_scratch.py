"""The mark that cnnlab's from-scratch layers print with."""

from __future__ import annotations


class FromScratch:
    """Prints a layer as "scratch Conv2d(...)": its arguments and parameters are
    ``torch.nn``'s, so without the word a converted model's printout could not show
    which of its layers run on cnnlab's ops. Put before ``nn.Module`` in the bases."""

    def _get_name(self) -> str:  # what nn.Module's repr prints before the arguments
        return f"scratch {type(self).__name__}"
