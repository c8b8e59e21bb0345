"""The coaching brain: exercises, ladders, the picker and progression rules (pure Python)."""
