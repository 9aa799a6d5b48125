"""Recording a live meeting: the recorder (a silent participant), its files, and the composed program video."""
