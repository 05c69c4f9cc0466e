"""Entry point: ``litellm_settings.callbacks: ["hybrid_router.handler.handler"]``.

LiteLLM's proxy resolves that name to this file in the config's directory and runs it
once per worker process (litellm 1.108.7, proxy/types_utils/utils.py get_instance_fn:
``importlib.util.spec_from_file_location`` + ``exec_module``). A module loaded that way is
not registered in ``sys.modules`` and its package is not importable, so this file only
puts the config's directory on the import path and imports the real package from there.
"""

from __future__ import annotations

import os
import sys

_CONFIG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if _CONFIG_DIR not in sys.path:
    sys.path.insert(0, _CONFIG_DIR)

from hybrid_router.callback import HybridRouter, create  # noqa: E402

handler: HybridRouter = create()
