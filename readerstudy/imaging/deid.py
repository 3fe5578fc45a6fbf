"""De-identify a DICOM tree for blinded reading (DICOM PS3.15 Annex E, Basic Profile).

Actions follow Table E.1-1 of the Basic Application Level Confidentiality Profile for the
attributes that occur in CT, secondary-capture and DICOMDIR objects (codes: D replace with a
dummy, Z empty, X remove, U remap UID; where the table offers X/Z or Z/D we keep the
attribute empty if the CT IOD requires it and remove it otherwise). On top of the table:
private elements are removed unless their creator is whitelisted; every person name (VR PN)
left anywhere is emptied; every instance UID outside the DICOM root 1.2.840.10008 is remapped.
UIDs map deterministically from a study secret (HMAC-SHA256 -> 2.25 UID), so re-running gives
the same UIDs and series stay consistent across a study. PatientID/PatientName become a
pseudonym derived the same way. Pixel data is copied byte for byte.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path

from pydicom.datadict import tag_for_keyword
from pydicom.dataelem import DataElement
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence as DicomSequence
from pydicom.uid import UID

from analysis.files import atomic_output, write_text
from readerstudy.imaging.errors import ImagingError
from readerstudy.imaging.headers import (
    DICOMDIR_SOP_CLASS,
    SECONDARY_CAPTURE_PREFIX,
    looks_like_dicom,
    read_dataset,
)
from readerstudy.imaging.series import candidate_files

METHOD = "DICOM PS3.15 Basic Profile (readerstudy)"  # LO: at most 64 characters
DICOM_ROOT = "1.2.840.10008."

# PS3.15 Table E.1-1 actions for attributes found in CT/SC image objects.
REPLACE = ("PatientName", "PatientID")  # D: a salted pseudonym (keeps cases linkable)
EMPTY = (  # Z (and the Z of Z/D, X/Z for attributes the CT IOD makes type 2)
    "AccessionNumber",
    "PatientBirthDate",
    "PatientSex",
    "ReferringPhysicianName",
    "StudyDate",
    "StudyTime",
    "StudyID",
    "ContentDate",
    "ContentTime",
    "ContrastBolusAgent",
    "FillerOrderNumberImagingServiceRequest",
    "PlacerOrderNumberImagingServiceRequest",
    "ConsultingPhysicianName",
)
REMOVE = (  # X (and X/Z, X/D, X/Z/D where the CT IOD does not require the attribute)
    "AcquisitionDate",
    "AcquisitionTime",
    "AcquisitionDateTime",
    "AcquisitionComments",
    "AcquisitionDeviceProcessingDescription",
    "AcquisitionContextSequence",
    "AcquisitionProtocolDescription",
    "ActualHumanPerformersSequence",
    "AdditionalPatientHistory",
    "AdmissionID",
    "AdmittingDate",
    "AdmittingDiagnosesDescription",
    "AdmittingDiagnosesCodeSequence",
    "AdmittingTime",
    "Allergies",
    "BranchOfService",
    "CurrentPatientLocation",
    "CurveDate",
    "CurveTime",
    "DateOfLastCalibration",
    "DateOfSecondaryCapture",
    "DerivationDescription",
    "DeviceSerialNumber",
    "DetectorID",
    "EthnicGroup",
    "FrameComments",
    "GantryID",
    "GeneratorID",
    "IconImageSequence",
    "IdentifyingComments",
    "ImageComments",
    "ImagePresentationComments",
    "ImagingServiceRequestComments",
    "InstanceCreationDate",
    "InstanceCreationTime",
    "InstitutionAddress",
    "InstitutionCodeSequence",
    "InstitutionName",
    "InstitutionalDepartmentName",
    "InsurancePlanIdentification",
    "IssuerOfAdmissionID",
    "IssuerOfPatientID",
    "LastMenstrualDate",
    "MedicalAlerts",
    "MedicalRecordLocator",
    "MilitaryRank",
    "ModifiedImageDate",
    "ModifiedImageDescription",
    "ModifiedImageTime",
    "ModifyingDeviceID",
    "NameOfPhysiciansReadingStudy",
    "NamesOfIntendedRecipientsOfResults",
    "NetworkID",
    "Occupation",
    "OperatorIdentificationSequence",
    "OperatorsName",
    "OrderCallbackPhoneNumber",
    "OrderEnteredBy",
    "OrderEntererLocation",
    "OriginalAttributesSequence",
    "OtherPatientIDs",
    "OtherPatientIDsSequence",
    "OtherPatientNames",
    "OverlayDate",
    "OverlayTime",
    "PatientAddress",
    "PatientAge",
    "PatientBirthName",
    "PatientBirthTime",
    "PatientComments",
    "PatientInsurancePlanCodeSequence",
    "PatientMotherBirthName",
    "PatientReligiousPreference",
    "PatientSize",
    "PatientState",
    "PatientTelephoneNumbers",
    "PatientTransportArrangements",
    "PatientWeight",
    "PerformedLocation",
    "PerformedProcedureStepDescription",
    "PerformedProcedureStepEndDate",
    "PerformedProcedureStepEndTime",
    "PerformedProcedureStepID",
    "PerformedProcedureStepStartDate",
    "PerformedProcedureStepStartTime",
    "PerformedStationAETitle",
    "PerformedStationName",
    "PerformingPhysicianIdentificationSequence",
    "PerformingPhysicianName",
    "PersonAddress",
    "PersonTelephoneNumbers",
    "PhysiciansOfRecord",
    "PhysiciansOfRecordIdentificationSequence",
    "PhysiciansReadingStudyIdentificationSequence",
    "PlateID",
    "PreMedication",
    "PregnancyStatus",
    "ProtocolName",
    "ReasonForStudy",
    "ReasonForTheRequestedProcedure",
    "ReasonForTheImagingServiceRequest",
    "ReferencedPatientAliasSequence",
    "ReferencedPatientPhotoSequence",
    "ReferencedPatientSequence",
    "ReferencedPerformedProcedureStepSequence",
    "ReferencedStudySequence",
    "ReferringPhysicianAddress",
    "ReferringPhysicianIdentificationSequence",
    "ReferringPhysicianTelephoneNumbers",
    "RegionOfResidence",
    "RequestAttributesSequence",
    "RequestedContrastAgent",
    "RequestedProcedureComments",
    "RequestedProcedureDescription",
    "RequestedProcedureID",
    "RequestedProcedureLocation",
    "RequestingPhysician",
    "RequestingService",
    "ResponsibleOrganization",
    "ResponsiblePerson",
    "ResultsComments",
    "RetrieveAETitle",
    "ScheduledPerformingPhysicianName",
    "ScheduledProcedureStepDescription",
    "ScheduledProcedureStepID",
    "ScheduledStationAETitle",
    "ScheduledStationName",
    "ScheduledStudyLocation",
    "SeriesDate",
    "SeriesDescription",
    "SeriesTime",
    "ServiceEpisodeDescription",
    "ServiceEpisodeID",
    "SmokingStatus",
    "SourceApplicationEntityTitle",
    "SpecialNeeds",
    "StationAETitle",
    "StationName",
    "StudyArrivalDate",
    "StudyArrivalTime",
    "StudyComments",
    "StudyCompletionDate",
    "StudyCompletionTime",
    "StudyDescription",
    "StudyIDIssuer",
    "StudyReadDate",
    "StudyReadTime",
    "StudyVerifiedDate",
    "StudyVerifiedTime",
    "TextComments",
    "TimeOfLastCalibration",
    "TimeOfSecondaryCapture",
    "TimezoneOffsetFromUTC",
    "UniqueDeviceIdentifier",
    "UDISequence",
    "VisitComments",
)
KEEP_UIDS = frozenset(  # UI attributes naming classes, syntaxes and schemes, never instances
    {
        "SOPClassUID",
        "MediaStorageSOPClassUID",
        "ReferencedSOPClassUID",
        "ReferencedSOPClassUIDInFile",
        "TransferSyntaxUID",
        "ReferencedTransferSyntaxUIDInFile",
        "ImplementationClassUID",
        "CodingSchemeUID",
        "ContextGroupExtensionCreatorUID",
        "PrivateInformationCreatorUID",
        "RelatedGeneralSOPClassUID",
        "OriginalSpecializedSOPClassUID",
    }
)


@cache
def _tags() -> dict[int, str]:
    """Tag -> action for the table above (keywords checked against pydicom's dictionary)."""
    table: dict[int, str] = {}
    for action, keywords in (("D", REPLACE), ("Z", EMPTY), ("X", REMOVE)):
        for keyword in keywords:
            tag = tag_for_keyword(keyword)
            if tag is None:
                raise RuntimeError(f"de-identification table: unknown keyword {keyword}")
            table[tag] = action
    return table


@dataclass
class FileChange:
    """What de-identification did to one file (attribute keywords, never their values)."""

    source: str  # path relative to the source root
    output: str  # path relative to the destination root
    replaced: list[str] = field(default_factory=list)
    emptied: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    uids_remapped: list[str] = field(default_factory=list)
    private_removed: int = 0
    flags: list[str] = field(default_factory=list)


@dataclass
class DeidReport:
    """Per-file changes, flagged files (burned-in annotation, secondary capture), skips."""

    method: str
    salt_fingerprint: str  # first 12 hex digits of SHA-256(salt): tells runs apart, hides salt
    files: list[FileChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> list[FileChange]:
        """Files a person must look at: pixels may carry burned-in identifying text."""
        return [f for f in self.files if f.flags]

    def to_dict(self) -> dict[str, object]:
        return {
            "method": self.method,
            "salt_fingerprint": self.salt_fingerprint,
            "n_files": len(self.files),
            "n_flagged": len(self.flagged),
            "files": [asdict(f) for f in self.files],
            "skipped": self.skipped,
        }

    def to_json(self, path: Path) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")


class _Deidentifier:
    def __init__(self, salt: str, whitelist_private: Iterable[str]) -> None:
        if not isinstance(salt, str) or not salt:
            raise ImagingError("de-identification needs a non-empty study secret (salt)")
        self.key = salt.encode("utf-8")
        self.whitelist = {c.strip() for c in whitelist_private}
        self.table = _tags()

    def uid(self, value: str) -> str:
        """Deterministic replacement UID (2.25 + 128 bits of HMAC), the same across a study."""
        digest = hmac.new(self.key, b"uid:" + value.strip().encode(), hashlib.sha256).digest()
        return f"2.25.{int.from_bytes(digest[:16], 'big')}"

    def pseudonym(self, value: str) -> str:
        digest = hmac.new(self.key, b"patient:" + value.strip().encode(), hashlib.sha256)
        return "ANON-" + digest.hexdigest()[:10].upper()

    def _element(self, ds: Dataset, elem: DataElement, change: FileChange, path: str) -> None:
        keyword = elem.keyword or str(elem.tag)
        where = f"{path}{keyword}"
        action = self.table.get(int(elem.tag))
        if action == "X":
            del ds[elem.tag]
            change.removed.append(where)
        elif action == "Z" or (action is None and elem.VR == "PN" and elem.value):
            elem.value = [] if elem.VR == "SQ" else ""
            change.emptied.append(where)
        elif action == "D":
            original = str(ds.get("PatientID", "")) or str(elem.value)
            elem.value = self.pseudonym(original)
            change.replaced.append(where)
        elif elem.VR == "UI" and keyword not in KEEP_UIDS and elem.value:
            values = elem.value if elem.VM > 1 else [elem.value]
            if all(str(v).startswith(DICOM_ROOT) for v in values):
                return
            mapped = [v if str(v).startswith(DICOM_ROOT) else self.uid(str(v)) for v in values]
            elem.value = mapped if elem.VM > 1 else mapped[0]
            change.uids_remapped.append(where)
        elif elem.VR == "SQ":
            for i, item in enumerate(elem.value):
                self.dataset(item, change, f"{where}[{i}].")

    def dataset(self, ds: Dataset, change: FileChange, path: str = "") -> None:
        private = [elem.tag for elem in ds if elem.tag.is_private]
        if private:
            kept = {
                (tag.group, tag.element)
                for tag in private
                if tag.is_private_creator and str(ds[tag].value).strip() in self.whitelist
            }
            for tag in private:
                block = (tag.group, tag.element if tag.is_private_creator else tag.element >> 8)
                if block not in kept:
                    del ds[tag]
                    change.private_removed += 1
        # Overlays and curves (groups 60xx, 50xx) can carry text: removed (X).
        for elem in list(ds):
            if (elem.tag.group & 0xFF00) in (0x5000, 0x6000) and elem.tag.group % 2 == 0:
                del ds[elem.tag]
                change.removed.append(f"{path}{elem.keyword or elem.tag}")
        for elem in list(ds):
            if elem.tag == 0x7FE00010:  # pixel data: untouched
                continue
            if elem.tag in ds:
                self._element(ds, elem, change, path)

    def file(self, ds: Dataset, change: FileChange) -> None:
        self.dataset(ds, change)
        meta = ds.file_meta
        if "MediaStorageSOPInstanceUID" in meta:
            meta.MediaStorageSOPInstanceUID = UID(self.uid(str(meta.MediaStorageSOPInstanceUID)))
        if "SourceApplicationEntityTitle" in meta:
            del meta.SourceApplicationEntityTitle
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = METHOD
        code = Dataset()
        code.CodeValue, code.CodingSchemeDesignator = "113100", "DCM"
        code.CodeMeaning = "Basic Application Confidentiality Profile"
        codes = [code]
        if self.whitelist:
            safe = Dataset()
            safe.CodeValue, safe.CodingSchemeDesignator = "113111", "DCM"
            safe.CodeMeaning = "Retain Safe Private Option"
            codes.append(safe)
        ds.DeidentificationMethodCodeSequence = DicomSequence(codes)
        ds.LongitudinalTemporalInformationModified = "REMOVED"
        sop_class = str(ds.get("SOPClassUID", ""))
        if str(ds.get("BurnedInAnnotation", "")).upper() == "YES":
            change.flags.append("BurnedInAnnotation=YES: pixels may show identifying text")
        if sop_class.startswith(SECONDARY_CAPTURE_PREFIX):
            change.flags.append("secondary capture: pixels may show identifying text")


def check_destination(src: Path, dst: Path) -> None:
    """Refuse a missing source, and a destination that is the source or lies inside it."""
    src, dst = Path(src), Path(dst)
    if not src.exists():
        raise ImagingError(f"{src}: no such file or folder")
    if dst.resolve() == src.resolve() or src.resolve() in dst.resolve().parents:
        raise ImagingError(f"{dst}: the destination must lie outside the source {src}")


def deidentify_tree(
    src: Path,
    dst: Path,
    *,
    salt: str,
    whitelist_private: Iterable[str] = (),
    progress: Callable[[int, int], None] | None = None,
) -> DeidReport:
    """De-identify every DICOM file under ``src`` into ``dst``; return what was changed.

    Output files are named by their new UIDs (``<series uid>/<instance uid>.dcm``) because
    source folder and file names often carry names or MRNs. Non-DICOM files and DICOMDIRs
    (whose references would be stale) are skipped and listed. ``whitelist_private`` names
    private creators (e.g. ``"GEMS_PARM_01"``) whose blocks are kept.
    """
    src, dst = Path(src), Path(dst)
    check_destination(src, dst)
    worker = _Deidentifier(salt, whitelist_private)
    report = DeidReport(METHOD, hashlib.sha256(salt.encode()).hexdigest()[:12])
    files = candidate_files(src)
    base = src if src.is_dir() else src.parent
    for done, path in enumerate(files, start=1):
        relative = str(path.relative_to(base))
        if path.suffix.lower() not in {".dcm", ".dicom", ".ima"} and not looks_like_dicom(path):
            report.skipped.append(f"{relative}: not DICOM")
        else:
            ds, _ = read_dataset(path)
            if str(ds.file_meta.get("MediaStorageSOPClassUID", "")) == DICOMDIR_SOP_CLASS:
                report.skipped.append(f"{relative}: DICOMDIR (rebuild it after de-identifying)")
            else:
                report.files.append(_deidentify_file(worker, ds, relative, dst))
        if progress is not None:
            progress(done, len(files))
    return report


def _deidentify_file(worker: _Deidentifier, ds: Dataset, relative: str, dst: Path) -> FileChange:
    change = FileChange(source=relative, output="")
    try:
        pixels = ds.get("PixelData")
        worker.file(ds, change)
        series = str(ds.get("SeriesInstanceUID", "") or "no-series")
        instance = str(ds.get("SOPInstanceUID", "") or worker.uid(relative))
        out = dst / series / f"{instance}.dcm"
        out.parent.mkdir(parents=True, exist_ok=True)
        if pixels is not None and ds.get("PixelData") != pixels:
            raise ImagingError(f"{relative}: pixel data changed during de-identification")
        with atomic_output(out) as temporary:
            ds.save_as(temporary, enforce_file_format=True)
    except (ImagingError, OSError):
        raise
    except Exception as exc:
        raise ImagingError(f"{relative}: cannot be de-identified ({exc})") from exc
    change.output = str(out.relative_to(dst))
    return change
