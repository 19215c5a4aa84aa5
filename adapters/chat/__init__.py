"""The conversation, written once for every chat platform: neutral requests in, neutral replies
out (one module per area), the words of the catalogue, and the notices core sends to people."""
