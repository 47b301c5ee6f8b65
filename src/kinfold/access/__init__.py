"""The one door to a family's data.

- ``viewer``: who is asking; ``vocabulary``: purposes, interactions, classes and the role table (data);
- ``registry``: where each family-record type declares how it reaches its family, its category and the rules
  that answer each interaction (apps register from their ``records.py``);
- ``facts``: the facts of a page's families, loaded in a constant number of queries;
- ``rules``: ``decide`` — read, create, change, retire, disclose_to;
- ``gate``: a page's view of its families' records; ``accounting``: the writer of the accounting of
  disclosures, the only family data the door writes;
- ``door``: every fetch by id (``access_record``) and every write (``require``); ``http``: the viewer of a
  request.

It imports models (organisations, families, the consent facts) and the audit trail; never a selector,
service, view or form, and never a feature app's own modules.
"""
