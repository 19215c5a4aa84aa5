"""Sending email (verification codes) over SMTP with aiosmtplib."""
