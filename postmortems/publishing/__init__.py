"""Publishing a postmortem: review, the publish checklist, and what goes out to readers.

- workflow: draft → in review → published, and back to draft with a reason;
- checklist: what a postmortem must have before it is published;
- reader: the frozen version stakeholders read;
- summary: the short summary sent to the mailing list and the teams' Slack channels, so
  the findings are read widely.
"""
