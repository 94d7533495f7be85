"""Factories for synthetic test data (never real patients)."""

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from patients.lab_catalogue import find_test
from patients.models import Clinic, Diagnosis, LabResult, Patient, Transplant, WeightMeasurement


class ClinicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Clinic
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"clinic{n}")
    name = factory.LazyAttribute(lambda o: f"Clinic {o.code.upper()}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")

    @factory.post_generation
    def password(user, create, extracted, **kwargs):
        user.set_password(extracted or "correct-horse-battery")
        if create:
            user.save(update_fields=["password"])


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    mrn = factory.Sequence(lambda n: f"MRN{n:05d}")
    given_name = factory.Sequence(lambda n: f"Given{n}")
    family_name = factory.Sequence(lambda n: f"Family{n}")
    date_of_birth = date(1960, 5, 17)
    sex_at_birth = Patient.Sex.MALE
    height_cm = Decimal("175.0")
    status = Patient.Status.ACTIVE
    reproductive_potential = Patient.ReproductivePotential.NOT_APPLICABLE


class DiagnosisFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Diagnosis

    patient = factory.SubFactory(PatientFactory)
    diagnosed_on = date(2024, 1, 10)
    heavy_chain = Diagnosis.HeavyChain.IGG
    light_chain = Diagnosis.LightChain.KAPPA
    iss_stage = "II"
    best_response_pre_maintenance = "VGPR"


class TransplantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transplant

    patient = factory.SubFactory(PatientFactory)
    transplanted_on = factory.LazyAttribute(lambda o: date(2024, 6, 1))


class WeightFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WeightMeasurement

    patient = factory.SubFactory(PatientFactory)
    measured_on = factory.LazyAttribute(lambda o: date(2024, 9, 1) + timedelta(days=0))
    weight_kg = Decimal("80.0")


class LabResultFactory(factory.django.DjangoModelFactory):
    """A stored result as the lab record keeps it: its test's panel and canonical unit from
    the catalogue, entered when it was collected. Values as keyword arguments
    (``canonical_value``, ``qualitative``)."""

    class Meta:
        model = LabResult

    patient = factory.SubFactory(PatientFactory)
    test_code = "ANC"
    panel = factory.LazyAttribute(lambda o: find_test(o.test_code).panel)
    collected_at = factory.LazyFunction(timezone.now)
    entered_at = factory.LazyAttribute(lambda o: o.collected_at)
    canonical_unit = factory.LazyAttribute(lambda o: find_test(o.test_code).canonical_unit)
