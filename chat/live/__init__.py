"""The live chat, split by noun around one shared context (docs/architecture.md).

``context`` holds what every part shares (the broker, the sockets here, sealing,
the commit-then-notify primitive); ``notices`` is the table the parts register
their notice handlers in; the rest each own one noun: ``lines``, ``delivery``,
``visitors``, ``consoles``, ``matching``, ``ending``, ``records``, ``referring``,
``timers``, ``reconcile``. ``chat.hub`` wires them together.
"""
