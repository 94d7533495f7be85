"""Lab interoperability: HL7 v2 ORU^R01 in (MLLP listener, file import), FHIR R4 out and in.

* ``models``: the mapping tables (sender -> clinic, local code -> test, unit spelling ->
  catalogue unit) and the interface message log behind the interface queue.
* ``units``: the built-in unit spellings and their UCUM codes (pure data).
* ``hl7``: parsing (python-hl7), mapping and the ingest service with its ACK.
* ``mllp``: the asyncio MLLP server (python-hl7's ``hl7.mllp``).
* ``fhir``: the /fhir/ views and resource serializers.
"""
