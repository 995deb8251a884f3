"""How long each kind of input may be: one table for the API's models, the pages' forms and the CLI, so a field
is refused (API) or cut (a form's free text kept after a refusal) at the same length wherever it is typed."""

from __future__ import annotations

AGENCY = 32  # an agency's code (SKHCN, UBND_NINHPHUOC)
IDENTIFIER = 64  # a login, an event's or an obligation's name, a state
TOTP_CODE = 12  # a second factor's code as typed (six digits, spaces allowed)
FIELD_NAME = 80  # a payload field's name (document.issued_on)
DOCUMENT = 100  # a document's number (472/QĐ-UBND), a definition's id, a plan's section
NAME = 200  # a person's name, a position, a business key, a title, a search, a password
LONG_NAME = 500  # an agency's full name, a plan's title
VALUE = 1000  # one value typed into a correction; a document's summary
TEXT = 4000  # a progress report
REASON = 10_000  # a reason, a note
DAY = 10  # a date as typed: dd/mm/yyyy or YYYY-MM-DD
SHA256 = 64  # a stored file's name: its SHA-256 in hex
