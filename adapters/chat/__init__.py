"""What every chat adapter shares: the message catalogue and the renderers of core results."""
