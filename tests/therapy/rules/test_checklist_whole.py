"""The whole eligibility checklist for six vignettes: every label, status, sentence, date,
value and cited threshold a physician sees (reviewed against the clinical reference, sec. 1,
3 and 5), so no word or number can change unnoticed (``make mutate``)."""

from datetime import UTC, date
from datetime import datetime as dt
from decimal import Decimal

import pytest

from therapy.dosing import DoseLevel
from therapy.eligibility import EligibilityInputs, eligibility_checklist

RX_AT = dt(2025, 9, 1, 9, 0, tzinfo=UTC)
LAB = date(2025, 8, 28)
ALL = ("WBC", "ANC", "HGB", "PLT", "CREAT", "SPEP_M", "FLC_KAPPA", "FLC_LAMBDA")
BASE = {
    "best_response": "VGPR",
    "crcl_ml_min": Decimal("85"),
    "crcl_on": LAB,
    "crcl_basis": "creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28",
    "anc": Decimal("2.1"),
    "anc_on": LAB,
    "platelets": Decimal("180"),
    "platelets_on": LAB,
    "rems_enrollment_active": True,
    "can_become_pregnant": False,
    "planned_prescription_at": RX_AT,
    "transplant_on": date(2025, 5, 24),
    "baseline_labs": dict.fromkeys(ALL, LAB),
}
D = Decimal
VIGNETTES = {
    "dialysis": {
        "anc": D("0.9"),
        "crcl_ml_min": D("13.6"),
        "on_dialysis": True,
        "platelets": D("150"),
        "transplant_on": date(2025, 5, 4),
    },
    "eligible": {},
    "moderate_renal": {"crcl_basis": "", "crcl_ml_min": D("45")},
    "not_studied_and_old_anc": {"anc_on": date(2025, 7, 1), "crcl_ml_min": D("10.9")},
    "nothing_recorded": {
        "anc": None,
        "anc_on": None,
        "baseline_labs": {},
        "best_response": None,
        "can_become_pregnant": None,
        "crcl_basis": "",
        "crcl_ml_min": None,
        "crcl_on": None,
        "platelets": None,
        "platelets_on": None,
        "rems_enrollment_active": None,
        "transplant_on": None,
    },
    "severe_renal_and_failures": {
        "anc": D("1.2"),
        "baseline_labs": {
            "ANC": date(2025, 8, 28),
            "CREAT": date(2025, 8, 28),
            "FLC_KAPPA": date(2025, 8, 28),
            "FLC_LAMBDA": None,
            "HGB": date(2025, 8, 28),
            "PLT": date(2025, 8, 28),
            "SPEP_M": date(2025, 5, 1),
            "WBC": date(2025, 8, 28),
        },
        "best_response": "MR",
        "can_become_pregnant": True,
        "crcl_ml_min": D("22.7"),
        "platelets": D("60"),
        "rems_enrollment_active": False,
        "transplant_on": date(2025, 7, 23),
    },
}

EXPECTED = {
    "dialysis": [
        (
            "response",
            "Response PR or better after induction",
            "pass",
            "Best response VGPR (PR or better)",
            None,
            "Seed documents; IMWG response criteria (Kumar 2016): PR or better",
            "eligibility.response",
            {"best_response": "VGPR"},
            (),
        ),
        (
            "crcl",
            "Creatinine clearance (Cockcroft-Gault)",
            "warn",
            "CrCl 13.6 mL/min (creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on "
            "2025-08-28): on dialysis, renal dose 2.5 mg once daily (2.5 mg days 1-28 of "
            "28), given after dialysis on dialysis days",
            date(2025, 8, 28),
            "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for standard dosing; "
            "Lenalidomide US PI, starting dose adjustment for renal impairment "
            "(maintenance)",
            "eligibility.crcl",
            {
                "crcl_basis": "creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28",
                "crcl_ml_min": D("13.6"),
                "on_dialysis": True,
                "suggested_level": DoseLevel(dose_mg=D("2.5"), dosing_days=28, cycle_days=28),
            },
            (
                "eligibility.crcl.standard_dosing_above",
                "dosing.renal.normal_min_crcl",
                "dosing.renal.severe_below_crcl",
                "dosing.renal.not_studied_dialysis_below_crcl",
                "dosing.renal.dialysis_dose_mg",
            ),
        ),
        (
            "anc",
            "Absolute neutrophil count",
            "fail",
            "0.9 x10^9/L is below the label minimum of 1",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed documents: "
            "recommended counts before starting maintenance",
            "eligibility.anc",
            {"anc": D("0.9")},
            ("dosing.start.label_min_anc", "dosing.start.recommended_anc_above"),
        ),
        (
            "platelets",
            "Platelets",
            "pass",
            "150 x10^9/L",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed documents: "
            "recommended counts before starting maintenance",
            "eligibility.platelets",
            {"platelets": D("150")},
            ("dosing.start.label_min_platelets", "dosing.start.recommended_platelets_above"),
        ),
        (
            "rems_enrollment",
            "Lenalidomide REMS enrollment",
            "pass",
            "REMS enrollment active",
            None,
            "Lenalidomide REMS program (shared by Revlimid and generics)",
            "eligibility.rems_enrollment",
            {"rems_enrollment_active": True},
            (),
        ),
        (
            "pregnancy_tests",
            "Pregnancy tests before the first prescription",
            "pass",
            "Not applicable: cannot become pregnant",
            None,
            "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females of reproductive "
            "potential",
            "eligibility.pregnancy_tests",
            {"can_become_pregnant": False},
            (),
        ),
        (
            "transplant",
            "Time since transplant",
            "warn",
            "Autologous transplant on 2025-05-04: day 120 at the planned prescription "
            "(usual window day 90-110): later than usual",
            date(2025, 5, 4),
            "Lenalidomide US PI (maintenance after auto-HSCT, once hematologic recovery) "
            "and common practice: usually day 90-110 after ASCT (clinical reference sec. 1)",
            "eligibility.transplant",
            {"day": 120, "transplant_kind": "autologous", "transplant_on": date(2025, 5, 4)},
            ("eligibility.transplant.window_first_day", "eligibility.transplant.window_last_day"),
        ),
        (
            "baseline_labs",
            "Baseline labs",
            "pass",
            "CBC, creatinine, M-protein and FLC on record (CBC and creatinine within 30 "
            "days, M-protein and FLC within 90 days)",
            date(2025, 8, 28),
            "Seed documents, clinical reference sec. 1 baseline labs: CBC, chemistry with "
            "creatinine, response labs (M-protein, FLC)",
            "eligibility.baseline_labs",
            {
                "baseline_labs": {
                    "ANC": date(2025, 8, 28),
                    "CREAT": date(2025, 8, 28),
                    "FLC_KAPPA": date(2025, 8, 28),
                    "FLC_LAMBDA": date(2025, 8, 28),
                    "HGB": date(2025, 8, 28),
                    "PLT": date(2025, 8, 28),
                    "SPEP_M": date(2025, 8, 28),
                    "WBC": date(2025, 8, 28),
                },
                "missing": [],
                "too_old": [],
            },
            ("eligibility.labs.max_age_days", "eligibility.response_labs.max_age_days"),
        ),
    ],
    "eligible": [
        (
            "response",
            "Response PR or better after induction",
            "pass",
            "Best response VGPR (PR or better)",
            None,
            "Seed documents; IMWG response criteria (Kumar 2016): PR or better",
            "eligibility.response",
            {"best_response": "VGPR"},
            (),
        ),
        (
            "crcl",
            "Creatinine clearance (Cockcroft-Gault)",
            "pass",
            "CrCl 85 mL/min (creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28)",
            date(2025, 8, 28),
            "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for standard dosing; "
            "Lenalidomide US PI, starting dose adjustment for renal impairment "
            "(maintenance)",
            "eligibility.crcl",
            {
                "crcl_basis": "creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28",
                "crcl_ml_min": D("85"),
                "on_dialysis": False,
                "suggested_level": None,
            },
            ("eligibility.crcl.standard_dosing_above", "dosing.renal.normal_min_crcl"),
        ),
        (
            "anc",
            "Absolute neutrophil count",
            "pass",
            "2.1 x10^9/L",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed documents: "
            "recommended counts before starting maintenance",
            "eligibility.anc",
            {"anc": D("2.1")},
            ("dosing.start.label_min_anc", "dosing.start.recommended_anc_above"),
        ),
        (
            "platelets",
            "Platelets",
            "pass",
            "180 x10^9/L",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed documents: "
            "recommended counts before starting maintenance",
            "eligibility.platelets",
            {"platelets": D("180")},
            ("dosing.start.label_min_platelets", "dosing.start.recommended_platelets_above"),
        ),
        (
            "rems_enrollment",
            "Lenalidomide REMS enrollment",
            "pass",
            "REMS enrollment active",
            None,
            "Lenalidomide REMS program (shared by Revlimid and generics)",
            "eligibility.rems_enrollment",
            {"rems_enrollment_active": True},
            (),
        ),
        (
            "pregnancy_tests",
            "Pregnancy tests before the first prescription",
            "pass",
            "Not applicable: cannot become pregnant",
            None,
            "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females of reproductive "
            "potential",
            "eligibility.pregnancy_tests",
            {"can_become_pregnant": False},
            (),
        ),
        (
            "transplant",
            "Time since transplant",
            "pass",
            "Autologous transplant on 2025-05-24: day 100 at the planned prescription "
            "(usual window day 90-110)",
            date(2025, 5, 24),
            "Lenalidomide US PI (maintenance after auto-HSCT, once hematologic recovery) "
            "and common practice: usually day 90-110 after ASCT (clinical reference sec. 1)",
            "eligibility.transplant",
            {"day": 100, "transplant_kind": "autologous", "transplant_on": date(2025, 5, 24)},
            ("eligibility.transplant.window_first_day", "eligibility.transplant.window_last_day"),
        ),
        (
            "baseline_labs",
            "Baseline labs",
            "pass",
            "CBC, creatinine, M-protein and FLC on record (CBC and creatinine within 30 "
            "days, M-protein and FLC within 90 days)",
            date(2025, 8, 28),
            "Seed documents, clinical reference sec. 1 baseline labs: CBC, chemistry with "
            "creatinine, response labs (M-protein, FLC)",
            "eligibility.baseline_labs",
            {
                "baseline_labs": {
                    "ANC": date(2025, 8, 28),
                    "CREAT": date(2025, 8, 28),
                    "FLC_KAPPA": date(2025, 8, 28),
                    "FLC_LAMBDA": date(2025, 8, 28),
                    "HGB": date(2025, 8, 28),
                    "PLT": date(2025, 8, 28),
                    "SPEP_M": date(2025, 8, 28),
                    "WBC": date(2025, 8, 28),
                },
                "missing": [],
                "too_old": [],
            },
            ("eligibility.labs.max_age_days", "eligibility.response_labs.max_age_days"),
        ),
    ],
    "moderate_renal": [
        (
            "response",
            "Response PR or better after induction",
            "pass",
            "Best response VGPR (PR or better)",
            None,
            "Seed documents; IMWG response criteria (Kumar 2016): PR or better",
            "eligibility.response",
            {"best_response": "VGPR"},
            (),
        ),
        (
            "crcl",
            "Creatinine clearance (Cockcroft-Gault)",
            "warn",
            "CrCl 45 mL/min: below 60 mL/min, reduced dose 5 mg once daily (5 mg days 1-28 of 28)",
            date(2025, 8, 28),
            "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for standard "
            "dosing; Lenalidomide US PI, starting dose adjustment for renal "
            "impairment (maintenance)",
            "eligibility.crcl",
            {
                "crcl_basis": "",
                "crcl_ml_min": D("45"),
                "on_dialysis": False,
                "suggested_level": DoseLevel(dose_mg=D("5"), dosing_days=28, cycle_days=28),
            },
            (
                "eligibility.crcl.standard_dosing_above",
                "dosing.renal.normal_min_crcl",
                "dosing.renal.severe_below_crcl",
                "dosing.renal.not_studied_below_crcl",
                "dosing.renal.moderate_dose_mg",
            ),
        ),
        (
            "anc",
            "Absolute neutrophil count",
            "pass",
            "2.1 x10^9/L",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed "
            "documents: recommended counts before starting maintenance",
            "eligibility.anc",
            {"anc": D("2.1")},
            ("dosing.start.label_min_anc", "dosing.start.recommended_anc_above"),
        ),
        (
            "platelets",
            "Platelets",
            "pass",
            "180 x10^9/L",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed "
            "documents: recommended counts before starting maintenance",
            "eligibility.platelets",
            {"platelets": D("180")},
            ("dosing.start.label_min_platelets", "dosing.start.recommended_platelets_above"),
        ),
        (
            "rems_enrollment",
            "Lenalidomide REMS enrollment",
            "pass",
            "REMS enrollment active",
            None,
            "Lenalidomide REMS program (shared by Revlimid and generics)",
            "eligibility.rems_enrollment",
            {"rems_enrollment_active": True},
            (),
        ),
        (
            "pregnancy_tests",
            "Pregnancy tests before the first prescription",
            "pass",
            "Not applicable: cannot become pregnant",
            None,
            "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females of "
            "reproductive potential",
            "eligibility.pregnancy_tests",
            {"can_become_pregnant": False},
            (),
        ),
        (
            "transplant",
            "Time since transplant",
            "pass",
            "Autologous transplant on 2025-05-24: day 100 at the planned prescription "
            "(usual window day 90-110)",
            date(2025, 5, 24),
            "Lenalidomide US PI (maintenance after auto-HSCT, once hematologic "
            "recovery) and common practice: usually day 90-110 after ASCT (clinical "
            "reference sec. 1)",
            "eligibility.transplant",
            {"day": 100, "transplant_kind": "autologous", "transplant_on": date(2025, 5, 24)},
            ("eligibility.transplant.window_first_day", "eligibility.transplant.window_last_day"),
        ),
        (
            "baseline_labs",
            "Baseline labs",
            "pass",
            "CBC, creatinine, M-protein and FLC on record (CBC and creatinine within "
            "30 days, M-protein and FLC within 90 days)",
            date(2025, 8, 28),
            "Seed documents, clinical reference sec. 1 baseline labs: CBC, chemistry "
            "with creatinine, response labs (M-protein, FLC)",
            "eligibility.baseline_labs",
            {
                "baseline_labs": {
                    "ANC": date(2025, 8, 28),
                    "CREAT": date(2025, 8, 28),
                    "FLC_KAPPA": date(2025, 8, 28),
                    "FLC_LAMBDA": date(2025, 8, 28),
                    "HGB": date(2025, 8, 28),
                    "PLT": date(2025, 8, 28),
                    "SPEP_M": date(2025, 8, 28),
                    "WBC": date(2025, 8, 28),
                },
                "missing": [],
                "too_old": [],
            },
            ("eligibility.labs.max_age_days", "eligibility.response_labs.max_age_days"),
        ),
    ],
    "not_studied_and_old_anc": [
        (
            "response",
            "Response PR or better after induction",
            "pass",
            "Best response VGPR (PR or better)",
            None,
            "Seed documents; IMWG response criteria (Kumar 2016): PR or better",
            "eligibility.response",
            {"best_response": "VGPR"},
            (),
        ),
        (
            "crcl",
            "Creatinine clearance (Cockcroft-Gault)",
            "fail",
            "CrCl 10.9 mL/min: below 11 mL/min the dose was not studied "
            "(label); no renal dose can be suggested (creatinine 0.9 mg/dL "
            "on 2025-08-28, weight 78 kg on 2025-08-28)",
            date(2025, 8, 28),
            "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for "
            "standard dosing; Lenalidomide US PI, starting dose adjustment "
            "for renal impairment (maintenance)",
            "eligibility.crcl",
            {
                "crcl_basis": "creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28",
                "crcl_ml_min": D("10.9"),
                "on_dialysis": False,
                "suggested_level": None,
            },
            (
                "eligibility.crcl.standard_dosing_above",
                "dosing.renal.normal_min_crcl",
                "dosing.renal.severe_below_crcl",
                "dosing.renal.not_studied_below_crcl",
                "dosing.renal.severe_dose_mg",
            ),
        ),
        (
            "anc",
            "Absolute neutrophil count",
            "unknown",
            "2.1 x10^9/L — but measured 2025-07-01 (62 days before the "
            "prescription); the checklist needs a result from the last 30 "
            "days",
            date(2025, 7, 1),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; "
            "Seed documents: recommended counts before starting maintenance",
            "eligibility.anc",
            {"anc": D("2.1")},
            (
                "dosing.start.label_min_anc",
                "dosing.start.recommended_anc_above",
                "eligibility.labs.max_age_days",
            ),
        ),
        (
            "platelets",
            "Platelets",
            "pass",
            "180 x10^9/L",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; "
            "Seed documents: recommended counts before starting maintenance",
            "eligibility.platelets",
            {"platelets": D("180")},
            ("dosing.start.label_min_platelets", "dosing.start.recommended_platelets_above"),
        ),
        (
            "rems_enrollment",
            "Lenalidomide REMS enrollment",
            "pass",
            "REMS enrollment active",
            None,
            "Lenalidomide REMS program (shared by Revlimid and generics)",
            "eligibility.rems_enrollment",
            {"rems_enrollment_active": True},
            (),
        ),
        (
            "pregnancy_tests",
            "Pregnancy tests before the first prescription",
            "pass",
            "Not applicable: cannot become pregnant",
            None,
            "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females "
            "of reproductive potential",
            "eligibility.pregnancy_tests",
            {"can_become_pregnant": False},
            (),
        ),
        (
            "transplant",
            "Time since transplant",
            "pass",
            "Autologous transplant on 2025-05-24: day 100 at the planned "
            "prescription (usual window day 90-110)",
            date(2025, 5, 24),
            "Lenalidomide US PI (maintenance after auto-HSCT, once "
            "hematologic recovery) and common practice: usually day 90-110 "
            "after ASCT (clinical reference sec. 1)",
            "eligibility.transplant",
            {"day": 100, "transplant_kind": "autologous", "transplant_on": date(2025, 5, 24)},
            ("eligibility.transplant.window_first_day", "eligibility.transplant.window_last_day"),
        ),
        (
            "baseline_labs",
            "Baseline labs",
            "pass",
            "CBC, creatinine, M-protein and FLC on record (CBC and "
            "creatinine within 30 days, M-protein and FLC within 90 days)",
            date(2025, 8, 28),
            "Seed documents, clinical reference sec. 1 baseline labs: CBC, "
            "chemistry with creatinine, response labs (M-protein, FLC)",
            "eligibility.baseline_labs",
            {
                "baseline_labs": {
                    "ANC": date(2025, 8, 28),
                    "CREAT": date(2025, 8, 28),
                    "FLC_KAPPA": date(2025, 8, 28),
                    "FLC_LAMBDA": date(2025, 8, 28),
                    "HGB": date(2025, 8, 28),
                    "PLT": date(2025, 8, 28),
                    "SPEP_M": date(2025, 8, 28),
                    "WBC": date(2025, 8, 28),
                },
                "missing": [],
                "too_old": [],
            },
            ("eligibility.labs.max_age_days", "eligibility.response_labs.max_age_days"),
        ),
    ],
    "nothing_recorded": [
        (
            "response",
            "Response PR or better after induction",
            "unknown",
            "Best response not recorded",
            None,
            "Seed documents; IMWG response criteria (Kumar 2016): PR or better",
            "eligibility.response",
            {"best_response": None},
            (),
        ),
        (
            "crcl",
            "Creatinine clearance (Cockcroft-Gault)",
            "unknown",
            "No creatinine clearance on record",
            None,
            "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for standard "
            "dosing; Lenalidomide US PI, starting dose adjustment for renal "
            "impairment (maintenance)",
            "eligibility.crcl",
            {"crcl_basis": "", "crcl_ml_min": None, "on_dialysis": False, "suggested_level": None},
            ("eligibility.crcl.standard_dosing_above", "dosing.renal.normal_min_crcl"),
        ),
        (
            "anc",
            "Absolute neutrophil count",
            "unknown",
            "No absolute neutrophil count on record",
            None,
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed "
            "documents: recommended counts before starting maintenance",
            "eligibility.anc",
            {"anc": None},
            ("dosing.start.label_min_anc", "dosing.start.recommended_anc_above"),
        ),
        (
            "platelets",
            "Platelets",
            "unknown",
            "No platelets on record",
            None,
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; Seed "
            "documents: recommended counts before starting maintenance",
            "eligibility.platelets",
            {"platelets": None},
            ("dosing.start.label_min_platelets", "dosing.start.recommended_platelets_above"),
        ),
        (
            "rems_enrollment",
            "Lenalidomide REMS enrollment",
            "unknown",
            "REMS enrollment not recorded",
            None,
            "Lenalidomide REMS program (shared by Revlimid and generics)",
            "eligibility.rems_enrollment",
            {"rems_enrollment_active": None},
            (),
        ),
        (
            "pregnancy_tests",
            "Pregnancy tests before the first prescription",
            "unknown",
            "Whether the patient can become pregnant is not recorded",
            None,
            "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females of "
            "reproductive potential",
            "eligibility.pregnancy_tests",
            {"can_become_pregnant": None},
            (),
        ),
        (
            "transplant",
            "Time since transplant",
            "warn",
            "No transplant on record: maintenance may follow induction without one; "
            "record the date if there was a transplant",
            None,
            "Lenalidomide US PI (maintenance after auto-HSCT, once hematologic "
            "recovery) and common practice: usually day 90-110 after ASCT (clinical "
            "reference sec. 1)",
            "eligibility.transplant",
            {"day": None, "transplant_kind": "autologous", "transplant_on": None},
            ("eligibility.transplant.window_first_day", "eligibility.transplant.window_last_day"),
        ),
        (
            "baseline_labs",
            "Baseline labs",
            "warn",
            "Baseline labs incomplete (CBC and creatinine within 30 days, M-protein "
            "and FLC within 90 days); missing: white cells, neutrophils, "
            "hemoglobin, platelets, creatinine, serum M-protein, free kappa, free "
            "lambda",
            None,
            "Seed documents, clinical reference sec. 1 baseline labs: CBC, "
            "chemistry with creatinine, response labs (M-protein, FLC)",
            "eligibility.baseline_labs",
            {
                "baseline_labs": {},
                "missing": [
                    "white cells",
                    "neutrophils",
                    "hemoglobin",
                    "platelets",
                    "creatinine",
                    "serum M-protein",
                    "free kappa",
                    "free lambda",
                ],
                "too_old": [],
            },
            ("eligibility.labs.max_age_days", "eligibility.response_labs.max_age_days"),
        ),
    ],
    "severe_renal_and_failures": [
        (
            "response",
            "Response PR or better after induction",
            "fail",
            "Best response MR: maintenance needs PR or better",
            None,
            "Seed documents; IMWG response criteria (Kumar 2016): PR or better",
            "eligibility.response",
            {"best_response": "MR"},
            (),
        ),
        (
            "crcl",
            "Creatinine clearance (Cockcroft-Gault)",
            "warn",
            "CrCl 22.7 mL/min (creatinine 0.9 mg/dL on 2025-08-28, weight "
            "78 kg on 2025-08-28): at or below 30 mL/min, renal dose 2.5 "
            "mg once daily (2.5 mg days 1-28 of 28)",
            date(2025, 8, 28),
            "Seed documents and Lenalidomide US PI: CrCl > 30 mL/min for "
            "standard dosing; Lenalidomide US PI, starting dose adjustment "
            "for renal impairment (maintenance)",
            "eligibility.crcl",
            {
                "crcl_basis": "creatinine 0.9 mg/dL on 2025-08-28, weight 78 kg on 2025-08-28",
                "crcl_ml_min": D("22.7"),
                "on_dialysis": False,
                "suggested_level": DoseLevel(dose_mg=D("2.5"), dosing_days=28, cycle_days=28),
            },
            (
                "eligibility.crcl.standard_dosing_above",
                "dosing.renal.normal_min_crcl",
                "dosing.renal.severe_below_crcl",
                "dosing.renal.not_studied_below_crcl",
                "dosing.renal.severe_dose_mg",
            ),
        ),
        (
            "anc",
            "Absolute neutrophil count",
            "warn",
            "1.2 x10^9/L meets the label minimum, not above the recommended 1.5",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; "
            "Seed documents: recommended counts before starting "
            "maintenance",
            "eligibility.anc",
            {"anc": D("1.2")},
            ("dosing.start.label_min_anc", "dosing.start.recommended_anc_above"),
        ),
        (
            "platelets",
            "Platelets",
            "fail",
            "60 x10^9/L is below the label minimum of 75",
            date(2025, 8, 28),
            "Lenalidomide US PI, maintenance therapy following auto-HSCT; "
            "Seed documents: recommended counts before starting "
            "maintenance",
            "eligibility.platelets",
            {"platelets": D("60")},
            ("dosing.start.label_min_platelets", "dosing.start.recommended_platelets_above"),
        ),
        (
            "rems_enrollment",
            "Lenalidomide REMS enrollment",
            "fail",
            "No active REMS enrollment",
            None,
            "Lenalidomide REMS program (shared by Revlimid and generics)",
            "eligibility.rems_enrollment",
            {"rems_enrollment_active": False},
            (),
        ),
        (
            "pregnancy_tests",
            "Pregnancy tests before the first prescription",
            "unknown",
            "Pregnancy tests still needed: a negative test 10-14 days before and a negative "
            "test within 24 hours before the prescription",
            None,
            "Lenalidomide US PI, 5.1 Embryo-fetal toxicity and 8.3 Females "
            "of reproductive potential",
            "rems.pre_start_pregnancy_tests",
            {
                "early_test_on": None,
                "late_test_at": None,
                "missing": ["test_10_14_days_before", "test_within_24_hours_before"],
                "prescription_at": dt(2025, 9, 1, 9, 0, tzinfo=UTC),
                "tests_considered": 0,
                "unverified": 0,
            },
            (
                "rems.pretest.first_min_days_before",
                "rems.pretest.first_max_days_before",
                "rems.pretest.second_within_hours",
                "rems.pregnancy_test.max_detection_limit",
            ),
        ),
        (
            "transplant",
            "Time since transplant",
            "warn",
            "Autologous transplant on 2025-07-23: day 40 at the planned "
            "prescription (usual window day 90-110): earlier than usual, "
            "check hematologic recovery",
            date(2025, 7, 23),
            "Lenalidomide US PI (maintenance after auto-HSCT, once "
            "hematologic recovery) and common practice: usually day 90-110 "
            "after ASCT (clinical reference sec. 1)",
            "eligibility.transplant",
            {"day": 40, "transplant_kind": "autologous", "transplant_on": date(2025, 7, 23)},
            ("eligibility.transplant.window_first_day", "eligibility.transplant.window_last_day"),
        ),
        (
            "baseline_labs",
            "Baseline labs",
            "warn",
            "Baseline labs incomplete (CBC and creatinine within 30 days, "
            "M-protein and FLC within 90 days); missing: free lambda; too "
            "old: serum M-protein 2025-05-01",
            date(2025, 5, 1),
            "Seed documents, clinical reference sec. 1 baseline labs: CBC, "
            "chemistry with creatinine, response labs (M-protein, FLC)",
            "eligibility.baseline_labs",
            {
                "baseline_labs": {
                    "ANC": date(2025, 8, 28),
                    "CREAT": date(2025, 8, 28),
                    "FLC_KAPPA": date(2025, 8, 28),
                    "HGB": date(2025, 8, 28),
                    "PLT": date(2025, 8, 28),
                    "SPEP_M": date(2025, 5, 1),
                    "WBC": date(2025, 8, 28),
                },
                "missing": ["free lambda"],
                "too_old": ["serum M-protein 2025-05-01"],
            },
            ("eligibility.labs.max_age_days", "eligibility.response_labs.max_age_days"),
        ),
    ],
}


def _inputs(changes):
    changes = dict(changes)
    labs = changes.pop("baseline_labs", None)
    if labs is not None:
        changes["baseline_labs"] = {k: v for k, v in labs.items() if v}
    return EligibilityInputs(**{**BASE, **changes})


@pytest.mark.parametrize("name", sorted(VIGNETTES))
def test_whole_checklist(name):
    items = eligibility_checklist(_inputs(VIGNETTES[name]))
    got = [
        (
            i.item_id,
            i.label,
            i.status,
            i.value_text,
            i.observed_on,
            i.source,
            i.finding.rule_id,
            i.finding.values,
            tuple(t.key for t in i.finding.thresholds),
        )
        for i in items
    ]
    assert got == EXPECTED[name]
    for item in items:
        assert (item.finding.outcome, item.finding.message) == (item.status, item.value_text) or (
            item.item_id == "pregnancy_tests"
        )
