"""API routes of the monitoring app: a patient's lab results and flags.

``POST /api/v1/patients/{public_id}/labs/`` stores a collection's results all together or
not at all (400 with a message per result); ``POST /api/v1/labs/batch/`` stores many
collections for many patients, each all or nothing (the batch ingest service,
``monitoring.ingest``). The same services, clinic scoping (404) and roles (403) as the
pages.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from monitoring import access, ingest, selectors, services
from monitoring.errors import LabEntryRejected
from monitoring.models import Flag
from patients import audit, lab_selectors
from patients.access import require_perm
from patients.api_fields import ClinicalDateTimeField, StrictTextField
from patients.errors import DomainError
from patients.lab_catalogue import UnknownTestError, find_test
from patients.models import LabResult, Patient
from patients.parsing import QueryParamError, parse_query_date


class LabResultSerializer(serializers.ModelSerializer):
    test = serializers.CharField(source="test_code")
    name = serializers.CharField(source="get_test_code_display")
    value = serializers.DecimalField(
        source="canonical_value", max_digits=24, decimal_places=10, allow_null=True
    )
    unit = serializers.CharField(source="canonical_unit")
    entered_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    # Read-only model fields lose allow_blank; "" means a numeric result.
    qualitative = serializers.ChoiceField(
        choices=LabResult.Qualitative.choices, allow_blank=True, read_only=True
    )
    entered_in_error = serializers.SerializerMethodField()

    class Meta:
        model = LabResult
        fields = [
            "id",
            "test",
            "name",
            "value",
            "unit",
            "qualitative",
            "value_as_entered",
            "unit_as_entered",
            "ctcae_grade",
            "ctcae_version",
            "out_of_range",
            "collected_at",
            "entered_at",
            "entered_by",
            "source",
            "collection_id",
            "entered_in_error",
        ]
        read_only_fields = fields

    def get_entered_in_error(self, result: LabResult) -> bool:
        return result.entered_in_error_at is not None


class LabValueInSerializer(serializers.Serializer):
    test = StrictTextField(max_length=20, help_text="Catalogue code (ANC) or LOINC (751-8)")
    value = StrictTextField(
        max_length=30,
        help_text=(
            "Number as reported, as text: ASCII digits 0-9 with a full stop as the decimal "
            "point (0.4); no exponent, no decimal comma, no other digits. Or a choice "
            "(negative/positive) for qualitative tests."
        ),
    )
    unit = StrictTextField(max_length=20, required=False, allow_blank=True, default="")
    confirm_suspicious = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Confirm a value 100-fold away from the previous one (likely unit mix-up).",
    )
    confirm_implausibly_low = serializers.BooleanField(
        required=False,
        default=False,
        help_text=(
            "Confirm a value above zero but below the test's lower plausibility limit "
            "(ANC 0.4 sent with unit /uL is 0.0004 x10^9/L). Saved only with "
            "implausibly_low_reason as well."
        ),
    )
    implausibly_low_reason = StrictTextField(
        max_length=1000,
        required=False,
        allow_blank=True,
        default="",
        help_text="Why a value below the lower plausibility limit is right; stored with it.",
    )
    # The reporting lab's reference range, in ``unit``: CTCAE grade 1 is "< its LLN".
    ref_low = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, allow_null=True, default=None
    )
    ref_high = serializers.DecimalField(
        max_digits=14, decimal_places=4, required=False, allow_null=True, default=None
    )


class LabCollectionInSerializer(serializers.Serializer):
    collected_at = ClinicalDateTimeField(
        help_text=(
            "When the sample was drawn: YYYY-MM-DDTHH:MM[:SS] with an offset; without one it "
            "is read in the clinic's time zone, and the hour repeated when the clocks go "
            "back needs the offset. A date alone is refused."
        )
    )
    results = LabValueInSerializer(
        many=True,
        allow_empty=False,
        max_length=services.MAX_RESULTS_PER_ENTRY,
        help_text=f"At most {services.MAX_RESULTS_PER_ENTRY} results, one per catalogue test.",
    )
    mrd_method = serializers.ChoiceField(
        choices=LabResult.MrdMethod.choices, required=False, default=""
    )
    mrd_sensitivity_exponent = serializers.IntegerField(
        required=False, allow_null=True, default=None
    )
    hcg_sensitivity_miu_ml = serializers.DecimalField(
        max_digits=8, decimal_places=2, required=False, allow_null=True, default=None
    )


# Every 400 of the labs endpoint has this shape: what went wrong in words, and either the
# problems per submitted value ("results") or per request field ("errors"). Nothing is saved.
REJECTED = inline_serializer(
    "LabCollectionRejected",
    fields={
        "detail": serializers.CharField(),
        "errors": serializers.DictField(required=False),
        "results": inline_serializer(
            "LabValueProblems",
            fields={
                "test": serializers.CharField(),
                "errors": serializers.ListField(child=serializers.CharField()),
                "existing_result_id": serializers.IntegerField(allow_null=True),
            },
            many=True,
            required=False,
        ),
    },
)


class PatientLabs(generics.GenericAPIView):
    serializer_class = LabResultSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("test", str, description="Catalogue code or LOINC"),
            OpenApiParameter("since", str, description="YYYY-MM-DD, collected on or after"),
            OpenApiParameter("until", str, description="YYYY-MM-DD, collected on or before"),
        ],
        responses=LabResultSerializer(many=True),
    )
    def get(self, request, public_id):
        patient = access.patient_for(request.user, public_id, perm="patients.view_labresult")
        filters = inline_filters(request.query_params)
        results = lab_selectors.patient_results(patient, **filters)
        page = self.paginate_queryset(results)
        return self.get_paginated_response(LabResultSerializer(page, many=True).data)

    @extend_schema(
        request=LabCollectionInSerializer,
        responses={201: LabResultSerializer(many=True), 400: REJECTED},
    )
    def post(self, request, public_id):
        patient = access.patient_for(request.user, public_id, perm="patients.add_labresult")
        incoming = LabCollectionInSerializer(data=request.data)
        if not incoming.is_valid():
            return Response(
                {
                    "detail": "The request is not a valid lab collection: nothing was saved.",
                    "errors": incoming.errors,
                },
                status=400,
            )
        data = incoming.validated_data
        entries = _entries(data["results"])
        try:
            saved = services.lab_results_record(
                patient=patient,
                user=request.user,
                collected_at=data["collected_at"],
                entries=entries,
                source=LabResult.Source.API,
                mrd_method=data["mrd_method"],
                mrd_sensitivity_exponent=data["mrd_sensitivity_exponent"],
                hcg_sensitivity_miu_ml=data["hcg_sensitivity_miu_ml"],
            )
        except LabEntryRejected as rejected:
            rows = _row_problems(entries, rejected.problems)
            return Response({"detail": "Nothing was saved.", "results": rows}, status=400)
        except DomainError as error:
            return Response(
                {"detail": error.message, "errors": {error.field or "detail": [error.message]}},
                status=400,
            )
        # The access log names this patient without looking the public id up again.
        audit.note_read(request, [patient])
        return Response(LabResultSerializer(saved, many=True).data, status=status.HTTP_201_CREATED)


def _entries(rows) -> list[services.LabEntry]:
    return [
        services.LabEntry(
            test=row["test"],
            value=row["value"],
            unit=row["unit"],
            confirm_suspicious=row["confirm_suspicious"],
            confirm_low=row["confirm_implausibly_low"],
            low_reason=row["implausibly_low_reason"],
            ref_low=row["ref_low"],
            ref_high=row["ref_high"],
        )
        for row in rows
    ]


def _row_problems(entries, problems) -> list[dict]:
    """One item per submitted row, each problem once on the row it belongs to: the
    response grows with the request, never with its square."""
    rows = [
        {"row": i, "test": entry.test, "errors": [], "existing_result_id": None}
        for i, entry in enumerate(entries)
    ]
    for problem in problems:
        row = rows[problem.index if problem.index is not None else 0]
        row["errors"].append(problem.message)
        row["existing_result_id"] = row["existing_result_id"] or problem.existing_result_id
    return rows


class LabBatchCollectionIn(LabCollectionInSerializer):
    patient = serializers.UUIDField(help_text="The patient's public id.")


class LabBatchIn(serializers.Serializer):
    # Each item is checked on its own (LabBatchCollectionIn): a malformed collection is
    # refused alone, the others are stored.
    collections = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=ingest.MAX_COLLECTIONS_PER_BATCH,
        help_text=(
            f"At most {ingest.MAX_COLLECTIONS_PER_BATCH} collections (one draw of one patient "
            "each: patient, collected_at, results, as the single-patient POST), for any "
            "patients of your clinics."
        ),
    )


LAB_BATCH_OUT = inline_serializer(
    "LabBatchOutcome",
    fields={
        "detail": serializers.CharField(),
        # A request that is not a batch at all (no "collections" list): what is wrong.
        "errors": serializers.DictField(required=False),
        "stored": serializers.IntegerField(required=False),
        "refused": serializers.IntegerField(required=False),
        "duplicate": serializers.IntegerField(required=False),
        "collections": inline_serializer(
            "LabBatchCollectionOutcome",
            fields={
                "collection": serializers.IntegerField(help_text="Position in the batch."),
                "patient": serializers.CharField(allow_null=True),
                "status": serializers.ChoiceField(choices=["stored", "refused", "duplicate"]),
                "detail": serializers.CharField(),
                "results": LabResultSerializer(many=True, required=False),
                "errors": serializers.DictField(required=False),
                "rows": inline_serializer(
                    "LabBatchRowProblems",
                    fields={
                        "row": serializers.IntegerField(),
                        "test": serializers.CharField(),
                        "errors": serializers.ListField(child=serializers.CharField()),
                        "existing_result_id": serializers.IntegerField(allow_null=True),
                    },
                    many=True,
                    required=False,
                ),
            },
            many=True,
            # Absent only from a 400 the request layer answers (a NUL byte, a body too large).
            required=False,
        ),
    },
)


class LabBatch(generics.GenericAPIView):
    """Many collections, for many patients of the user's clinics, in one request."""

    serializer_class = LabBatchIn

    @extend_schema(
        request=inline_serializer(
            "LabBatchRequest",
            fields={"collections": LabBatchCollectionIn(many=True)},
        ),
        responses={201: LAB_BATCH_OUT, 207: LAB_BATCH_OUT, 400: LAB_BATCH_OUT},
        description=(
            "Each collection is stored all or nothing; a refused one does not stop the others. "
            "201: every collection stored; 207: some stored, the others refused (each "
            "named by its position, with a problem per result row); 400: none stored."
        ),
    )
    def post(self, request):
        require_perm(request.user, "patients.add_labresult")
        incoming = LabBatchIn(data=request.data)
        if not incoming.is_valid():
            return Response(
                {
                    "detail": "The request is not a valid batch: nothing was saved.",
                    "errors": incoming.errors,
                    "stored": 0,
                    "refused": 0,
                    "duplicate": 0,
                    "collections": [],
                },
                status=400,
            )
        items = incoming.validated_data["collections"]
        # One serializer checks every item, each on its own (its fields are built once).
        shape = LabBatchCollectionIn()
        checked: list[dict | dict[str, list]] = []
        valid: list[bool] = []
        for item in items:
            try:
                checked.append(shape.run_validation(item))
                valid.append(True)
            except serializers.ValidationError as error:
                checked.append(serializers.as_serializer_error(error))
                valid.append(False)
        wanted = {data["patient"] for data, ok in zip(checked, valid, strict=True) if ok}
        # One query for every patient of the batch; another clinic's patient reads as
        # missing (404 words), never as existing.
        patients = {
            p.public_id: p
            for p in Patient.objects.for_user(request.user)
            .filter(public_id__in=wanted)
            .select_related("clinic")
        }
        report: list[dict | None] = [None] * len(items)
        collections, positions = [], []
        for index, (data, ok) in enumerate(zip(checked, valid, strict=True)):
            if not ok:
                report[index] = _batch_refused(index, items[index].get("patient"), data)
                continue
            patient = patients.get(data["patient"])
            if patient is None:
                report[index] = _batch_refused(
                    index, str(data["patient"]), {"patient": ["No such patient."]}
                )
                continue
            positions.append(index)
            collections.append(
                ingest.Collection(
                    patient=patient,
                    collected_at=data["collected_at"],
                    entries=_entries(data["results"]),
                    mrd_method=data["mrd_method"],
                    mrd_sensitivity_exponent=data["mrd_sensitivity_exponent"],
                    hcg_sensitivity_miu_ml=data["hcg_sensitivity_miu_ml"],
                )
            )
        outcome = ingest.lab_collections_record(
            collections=collections, user=request.user, source=LabResult.Source.API
        )
        # Every stored result through one serializer (its fields built once), then back to
        # its collection.
        shown = iter(LabResultSerializer(outcome.results, many=True).data)
        for index, done in zip(positions, outcome.collections, strict=True):
            report[index] = _batch_item(index, done, [next(shown) for _ in done.results])
        return _batch_response(request, report, [c for c in outcome.collections if c.stored])


def _batch_refused(index: int, patient, errors: dict, rows=None, status="refused") -> dict:
    words = "; ".join(
        f"{name}: {' '.join(str(m) for m in messages)}"
        if isinstance(messages, list) and all(isinstance(m, str) for m in messages)
        else f"{name}: see errors"
        for name, messages in errors.items()
    )
    if rows:
        words = "; ".join(
            f"row {r['row']} ({r['test']}): {' '.join(r['errors'])}" for r in rows if r["errors"]
        )
    item = {
        "collection": index,
        "patient": str(patient) if patient is not None else None,
        "status": status,
        "detail": f"Collection {index}: nothing of it was saved. {words}".strip(),
        "errors": errors,
    }
    if rows is not None:
        item["rows"] = rows
    return item


def _batch_item(index: int, done, shown: list) -> dict:
    patient = str(done.collection.patient.public_id)
    if done.stored:
        return {
            "collection": index,
            "patient": patient,
            "status": "stored",
            "detail": f"Collection {index}: {len(done.results)} results stored.",
            "results": shown,
        }
    if done.problems:
        rows = _row_problems(done.collection.entries, done.problems)
        return _batch_refused(index, patient, {}, rows=rows, status=done.status)
    field_ = done.error_field or "detail"
    return _batch_refused(index, patient, {field_: [done.message]})


def _batch_response(request, report: list[dict], stored) -> Response:
    counts = {
        s: sum(1 for r in report if r["status"] == s) for s in ("stored", "refused", "duplicate")
    }
    if counts["stored"] == len(report):
        code, detail = status.HTTP_201_CREATED, "Every collection was stored."
    elif counts["stored"]:
        code = status.HTTP_207_MULTI_STATUS
        detail = (
            f"{counts['stored']} of {len(report)} collections stored; the others were refused "
            "and nothing of them was saved (see each collection)."
        )
    else:
        code, detail = status.HTTP_400_BAD_REQUEST, "Nothing was saved (see each collection)."
    # The access log: every patient whose results this response carries.
    audit.note_read(request, [c.collection.patient for c in stored])
    return Response({"detail": detail, **counts, "collections": report}, status=code)


class _Filters(serializers.Serializer):
    test = StrictTextField(required=False, max_length=20)
    since = StrictTextField(required=False)
    until = StrictTextField(required=False)

    def validate_test(self, value):
        try:
            return find_test(value).code
        except UnknownTestError as error:
            raise serializers.ValidationError(str(error)) from None

    def validate_since(self, value):
        return _query_date(value, "since")

    def validate_until(self, value):
        return _query_date(value, "until")


def _query_date(value: str, name: str):
    # One strict parser for query parameters: a bounded range, answered with a 400.
    try:
        return parse_query_date(value, name=name)
    except QueryParamError as error:
        raise serializers.ValidationError(error.message) from None


def inline_filters(params) -> dict:
    filters = _Filters(data={k: params[k] for k in ("test", "since", "until") if params.get(k)})
    filters.is_valid(raise_exception=True)
    return dict(filters.validated_data)


@extend_schema_field({"type": "string", "enum": Flag.Status.values})
class FlagStatusField(serializers.CharField):
    """Flag status, documented inline (a shared "status" enum would collide with others)."""


@extend_schema_field({"type": "string", "enum": Flag.Kind.values})
class FlagKindField(serializers.CharField):
    pass


class FlagSerializer(serializers.ModelSerializer):
    acknowledged_by = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True
    )
    status = FlagStatusField(read_only=True)
    kind = FlagKindField(read_only=True)

    class Meta:
        model = Flag
        fields = [
            "id",
            "kind",
            "status",
            "severity",
            "ctcae_grade",
            "ctcae_version",
            "message",
            "rule_id",
            "basis",
            "thresholds",
            "evidence",
            "due_on",
            "opened_at",
            "acknowledged_by",
            "acknowledged_at",
            "acknowledgement_note",
            "resolved_at",
            "resolution",
            "resolving_evidence",
            "dose_suggestion_id",
        ]
        read_only_fields = fields


class _FlagFilters(serializers.Serializer):
    status = serializers.ChoiceField(choices=Flag.Status.choices, required=False)
    kind = serializers.ChoiceField(choices=Flag.Kind.choices, required=False)


class PatientFlags(generics.GenericAPIView):
    serializer_class = FlagSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Flag.Status.values),
            OpenApiParameter("kind", str, enum=Flag.Kind.values),
        ],
        responses=FlagSerializer(many=True),
    )
    def get(self, request, public_id):
        patient = access.patient_for(request.user, public_id, perm="monitoring.view_flag")
        filters = _FlagFilters(
            data={
                k: request.query_params[k]
                for k in ("status", "kind")
                if request.query_params.get(k)
            }
        )
        filters.is_valid(raise_exception=True)
        flags = selectors.patient_flags(patient, **filters.validated_data)
        page = self.paginate_queryset(flags)
        return self.get_paginated_response(FlagSerializer(page, many=True).data)


class FlagAcknowledgementIn(serializers.Serializer):
    # Text only: an object or a number is refused, never stored as its repr.
    note = StrictTextField(required=False, allow_blank=True, max_length=1000, default="")


class FlagAcknowledge(generics.GenericAPIView):
    serializer_class = FlagSerializer

    @extend_schema(
        request=FlagAcknowledgementIn,
        responses={
            200: FlagSerializer,
            400: inline_serializer(
                "FlagAcknowledgementRejected",
                fields={
                    "detail": serializers.CharField(),
                    "errors": serializers.DictField(required=False),
                },
            ),
            409: inline_serializer("FlagNotOpen", fields={"detail": serializers.CharField()}),
        },
    )
    def post(self, request, public_id, flag_id):
        flag = access.flag_for(
            request.user, flag_id, perm="monitoring.acknowledge_flag", public_id=public_id
        )
        incoming = FlagAcknowledgementIn(data=request.data)
        if not incoming.is_valid():
            return Response(
                {"detail": "Nothing was acknowledged.", "errors": incoming.errors}, status=400
            )
        try:
            flag = services.flag_acknowledge(
                flag=flag, user=request.user, note=incoming.validated_data["note"]
            )
        except DomainError as error:
            code = status.HTTP_400_BAD_REQUEST if error.field else status.HTTP_409_CONFLICT
            return Response({"detail": error.message}, status=code)
        return Response(FlagSerializer(flag).data)


urlpatterns = [
    path("labs/batch/", LabBatch.as_view(), name="api-labs-batch"),
    path("patients/<uuid:public_id>/labs/", PatientLabs.as_view(), name="api-patient-labs"),
    path("patients/<uuid:public_id>/flags/", PatientFlags.as_view(), name="api-patient-flags"),
    path(
        "patients/<uuid:public_id>/flags/<int:flag_id>/acknowledge/",
        FlagAcknowledge.as_view(),
        name="api-flag-acknowledge",
    ),
]
