"""The live-meeting service: rooms and their media in this process, the recordings, and (live/nodes.py,
live/placement.py, live/edge.py) how the processes and servers of one cluster share the meetings."""
