"""edgehr sync: the protocol shared by device and server, the device courier and the central server."""
