"""The 法人番号公表サイト download layout (Unicode edition, no header row, 30 columns) and its codes."""

from __future__ import annotations

#: The published column order (docs/contract.md, "Reference data").
COLUMNS: tuple[str, ...] = (
    "sequenceNumber", "corporateNumber", "process", "correct", "updateDate", "changeDate", "name",
    "nameImageId", "kind", "prefectureName", "cityName", "streetNumber", "addressImageId", "prefectureCode",
    "cityCode", "postCode", "addressOutside", "addressOutsideImageId", "closeDate", "closeCause",
    "successorCorporateNumber", "changeCause", "assignmentDate", "latest", "enName", "enPrefectureName",
    "enCityName", "enAddressOutside", "furigana", "hihyoji",
)

#: process codes (処理区分)
PROCESS = {
    "01": "new", "11": "name_change", "12": "address_change", "13": "foreign_address_change",
    "21": "closed", "22": "reopened", "71": "absorbed", "72": "absorption_void", "81": "trade_name_deleted",
    "99": "deleted",
}
#: closeCause codes (登記記録の閉鎖等の事由): 11 = dissolved by merger
CLOSE_CAUSE_MERGER = "11"

#: kind codes (法人種別) of companies and the legal form they stand for
KIND_LEGAL_FORM = {"301": "株式会社", "302": "有限会社", "303": "合名会社", "304": "合資会社", "305": "合同会社"}

#: registry_status values on accounts
STATUSES = ("active", "closed", "absorbed")
