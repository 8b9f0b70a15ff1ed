"""``python -m monitoring_assets.cli``: the ``driftwarden`` command without its script."""

from monitoring_assets.cli import main

raise SystemExit(main())
