"""Everything that touches a library, the network, the disk or the clock."""
