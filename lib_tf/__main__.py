"""``python -m lib_tf`` is the ``lib-tf`` command."""
import sys

from .cli import main

sys.exit(main())
