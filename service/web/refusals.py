"""The engine's refusals as the pages say them: one sentence in the page's language built from the refusal's own
attributes (its kind, the assignee, the roles), and each field's problem beside the field.

The engine's field problems are short English phrases with a value in them ("must be at least 0", "'x' is not a
date (YYYY-MM-DD)"); ``FIELD_PROBLEMS`` turns each pattern into an English message. Every message is English in
the code and is looked up, for Vietnamese pages, in the gettext catalogue ``locale/vi/LC_MESSAGES/refusals.po``
(read with Babel, so a translator edits the ``.po`` without touching code; a message missing there is shown in
English). A problem no pattern knows is shown as the engine wrote it (``tests/web`` checks that the shipped
definitions' refusals all have their words)."""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files

from babel.messages.pofile import read_po

from definitions import WorkflowError
from workflow.errors import (
    AgencyMismatch,
    DuplicateBusinessKey,
    EventNotAllowed,
    GuardFailed,
    PayloadInvalid,
    Refused,
    RoleNotAllowed,
    VersionConflict,
)

FIELD_PROBLEMS: list[tuple[re.Pattern[str], str]] = [  # the engine's phrase → the message (English)
    (re.compile("^the file is empty$"),
     "The file is empty."),
    (re.compile("^larger than (.+) MB$"),
     "Larger than {0} MB."),
    (re.compile("^not a PDF, DOCX or XLSX file.*$"),
     "Not a PDF, DOCX or XLSX file (checked by its content, not its name)."),
    (re.compile('^required$'),
     'Required.'),
    (re.compile('^required for this event$'),
     'A reason is required for this action.'),
    (re.compile('^must not be blank$'),
     'Must not be blank.'),
    (re.compile('^must be one line$'),
     'Must be one line.'),
    (re.compile('^must not contain control characters$'),
     'Must not contain control characters (copied from another program?): type it again.'),
    (re.compile('^longer than (\\d+) characters$'),
     'Longer than {0} characters.'),
    (re.compile('^must be a whole number, not .*$'),
     'Must be a whole number.'),
    (re.compile('^must be at least (.+)$'),
     'Must be at least {0}.'),
    (re.compile('^must be at most (.+)$'),
     'Must be at most {0}.'),
    (re.compile("^'?(.*?)'? is not a date \\(YYYY-MM-DD\\)$"),
     '“{0}” is not a valid date (dd/mm/yyyy).'),
    (re.compile('^must be one of (.+)$'),
     'Choose one of the values.'),
    (re.compile("^'?(.*?)'? is not a document reference.*$"),
     '“{0}” is not a document reference (number/symbol, e.g. 472/QĐ-UBND).'),
    (re.compile("^'?(.*?)'? is not an agency code.*$"),
     '“{0}” is not an agency code.'),
    (re.compile(r"^(\d\d/\d\d/\d{4}) is after today \((\d\d/\d\d/\d{4}), province time\).*$"),
     '{0} is after today ({1}): it cannot have happened yet.'),
    (re.compile(r"^(\d\d/\d\d/\d{4}) is before the previous event of this task \((\d\d/\d\d/\d{4})\)$"),
     '{0} is before the previous event of this task ({1}).'),
    (re.compile(r"^(\d\d/\d\d/\d{4}) is before (\d\d/\d\d/\d{4})$"),
     '{0} is before {1}.'),
    (re.compile('^unknown part of a document.*$'),
     'Not a part of a document (number and symbol, date of issue, subject, signer).'),
    (re.compile("^2–64 characters: lower-case letters.*$"),
     "2 to 64 characters: lower-case letters without accents, digits, '.', '_', '-', '@'."),
    (re.compile("^the person's full name is required$"),
     "The person's full name is required."),
    (re.compile("^an officer's account needs the code of their agency$"),
     "An officer's account needs their agency."),
    (re.compile("^only officers belong to an agency in this system.*$"),
     "Only officers belong to an agency; leave the agency empty."),
    (re.compile("^'(.+)' is not a decimal number$"),
     "“{0}” is not a number; write it like 1.250,5."),
    (re.compile("^not (an|one) e-mail address$"),
     "Not an e-mail address."),
    (re.compile(r"^needs at least (\d+) characters$"),
     "At least {0} characters."),
    (re.compile("^must not be the login name$"),
     "Must not be the login name."),
    (re.compile("^too easy to guess.*$"),
     "Too easy to guess: a common password, a pattern such as 1234567890, or your own name or login. A few unrelated "
     "words make a strong one."),
    (re.compile("^an account '(.+)' exists already$"),
     "An account “{0}” exists already."),
    (re.compile("^an administrator cannot disable their own account$"),
     "An administrator cannot disable their own account."),
    (re.compile("^the two passwords differ$"),
     "The two passwords differ."),
    (re.compile('^unknown field.*$'),
     'Not a field of this form.'),
    (re.compile('^give exactly one of .*$'),
     'Give exactly one of: a new date, a number of days, a number of working days.'),
    (re.compile('^must be a positive number of days$'),
     'Must be more than 0 days.'),
    (re.compile(r"^(\d\d/\d\d/\d{4}) is not after the current (?:last day|deadline) \((\d\d/\d\d/\d{4})\)$"),
     '{0} is not after the current last day ({1}).'),
    (re.compile(r"^(\d\d/\d\d/\d{4}) is before the task began \((\d\d/\d\d/\d{4})\)$"),
     '{0} is before the task began ({1}).'),
    (re.compile("^required: an administrator acts for the body that owes this act only with a reason$"),
     'An administrator acts for the body that owes this act only with a reason.'),
    (re.compile("^required: what has been done, what remains$"),
     'Say what has been done and what remains.'),
    (re.compile("^a whole number from 0 to 100$"),
     'A whole number from 0 to 100.'),
    (re.compile("^at most (\\d+) characters, no control characters$"),
     'At most {0} characters, without control characters.'),
    (re.compile("^required: an administrator reports for the owing agency only with a reason$"),
     'An administrator reports for the owing agency only with a reason.'),
    (re.compile("^'?(.*?)'? is what the record already says$"),
     'The record already says “{0}”.'),
    (re.compile(r"^'?(.*?)'? is not a fact of row (\d+) that can be corrected.*$"),
     'This fact of row {1} cannot be corrected.'),
    (re.compile(r"^row (\d+) is not an act of this task.*$"),
     'Row {0} is not an act of this task (only acts and the start record facts that can be corrected).'),
    (re.compile("^must be one line of 1 to 1000 characters$"),
     'One line of 1 to 1000 characters.'),
    (re.compile("^not in the registry: (.+)$"),
     "Not in the registry: {0}."),
    (re.compile("^'(.+)' is not a deadline the grammar reads.*$"),
     "“{0}” is not a deadline the importer reads (for example: trong tháng 12/2022; trước ngày 05/11 hằng năm; "
     "20 ngày kể từ ngày nhận được dự thảo; thường xuyên)."),
    (re.compile("^(\\d+) duties not yet accepted or rejected$"),
     "{0} duties are not yet accepted or rejected."),
    (re.compile("^no workflow '(.+)'$"),
     "No workflow “{0}”."),
    (re.compile("^the import is (\\w+), not (\\w+)$"),
     "This import has moved on to another step; reload the page."),
    (re.compile("^lower-case letters, digits.*$"),
     "Lower-case letters without accents, digits, '.', '_' or '-', starting with a letter."),
    (re.compile("^'(.+)' is not in the registry$"),
     "“{0}” is not in the registry."),
    (re.compile("^say what must be changed$"),
     "Say what must be changed."),
    (re.compile("^not a Word document \\(\\.docx\\)$"),
     "Not a Word document (.docx)."),
    (re.compile("^empty$"),
     "Choose at least one body."),
]

# The engine's refusals that are not about one field: pattern → the sentence (English; Vietnamese in the .po).
REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(".*the task is finished: there is no progress left to report$"),
     'The task is finished: there is no progress left to report.'),
    (re.compile(r".*an extension request \(history row (\d+)\) is already waiting for a decision$"),
     'A request for more time (history row {0}) is already waiting for a decision.'),
    (re.compile(".*no extension request is waiting for a decision$"),
     'No request for more time is waiting for a decision.'),
    (re.compile(".*no receipt claim is waiting for a decision$"),
     'No stated day of receipt is waiting for a decision.'),
    (re.compile(".*nothing to extend: .*$"),
     'Nothing to extend: the task has no running deadline.'),
    (re.compile(".*the deadline is suspended; resume it before extending$"),
     'The deadline is suspended; resume it before extending it.'),
    (re.compile(".*the clock is already (suspended|running)$"),
     'The deadline is already {0}.'),
]

CATALOGUE = files("service.web") / "locale" / "vi" / "LC_MESSAGES" / "refusals.po"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, str]:
    """msgid → its Vietnamese, from the .po (untranslated and fuzzy entries left out: they show in English)."""
    with CATALOGUE.open("rb") as handle:
        read = read_po(handle, locale="vi")
    return {str(m.id): str(m.string) for m in read if m.id and m.string and not m.fuzzy}


def words_for(message: str, lang: str, **values: object) -> str:
    """A message of this module in the page's language, its placeholders filled."""
    text = catalogue().get(message, message) if lang == "vi" else message
    return text.format(**values)


def field_problem(message: str, lang: str) -> str:
    for pattern, english in FIELD_PROBLEMS:
        found = pattern.match(message)
        if found:
            text = catalogue().get(english, english) if lang == "vi" else english
            return text.format(*found.groups())
    return message


def said(err: WorkflowError, lang: str, names: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The refusal as one sentence, and each field's problem (field name → words) for the form."""
    fields: dict[str, str] = {}
    if isinstance(err, PayloadInvalid):
        fields = {name: field_problem(message, lang) for name, message in err.errors}
        return words_for("Some entries are not right; see the marked fields below.", lang), fields
    if isinstance(err, AgencyMismatch):
        return words_for("This task is assigned to {owner}; officers of another agency cannot act on it.", lang,
                         owner=names.get(err.assignee, err.assignee)), fields
    if isinstance(err, RoleNotAllowed):
        return words_for("Your role may not do this.", lang), fields
    if isinstance(err, EventNotAllowed):
        return words_for("This action is not possible in the task's present state (someone may have just updated "
                         "it); reload the page.", lang), fields
    if isinstance(err, VersionConflict):
        return words_for("Someone has just updated this task; reload the page and try again.", lang), fields
    if isinstance(err, GuardFailed):
        explanation = str(err).split("refused: ", 1)[-1]
        return words_for("Not possible yet: {explanation}", lang, explanation=explanation), fields
    if isinstance(err, DuplicateBusinessKey):
        return words_for("A task with this business key exists.", lang), fields
    if isinstance(err, Refused) and "late answers are refused" in str(err):
        return words_for("The deadline has passed; this workflow accepts nothing after it.", lang), fields
    for pattern, english in REFUSALS:
        found = pattern.match(str(err))
        if found:
            values = found.groups()
            if english.startswith("The deadline is already"):
                values = tuple(words_for(v, lang) for v in values)
            return (catalogue().get(english, english) if lang == "vi" else english).format(*values), fields
    return str(err), fields
