"""Qt views. A widget shows what it is given and turns gestures into Qt signals; no file I/O, no physics.

Widgets never import ``app`` and never reach into a sibling widget: ``app`` binds them to the state.
"""
