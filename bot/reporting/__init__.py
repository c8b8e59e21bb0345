"""Reading what people type back after a nudge: reps, sets, pain and where they felt it."""
