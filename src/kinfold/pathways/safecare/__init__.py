"""The Plan of Safe Care (CAPTA/CARA): a hospital's or clinic's plan for an infant with prenatal substance exposure
and the family, built before discharge, agreed with her, printed (HTML and PDF) only as her consent allows.
``services`` holds the rules and the reads (through the door); ``views``, ``forms`` and ``urls`` the pages; ``pdf``
the printable document."""
