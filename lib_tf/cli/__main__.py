"""``python -m lib_tf.cli`` is the ``lib-tf`` command."""
import sys

from . import main

sys.exit(main())
