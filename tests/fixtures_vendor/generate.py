"""Write the small vendor-layout fixtures (invented people and companies, never real data).

Run ``python tests/fixtures_vendor/generate.py`` to rewrite them; the files are committed.
Each sub-directory is one INPUT_DIR holding one vendor export (plus a Salesforce User export where
the layout has OwnerId).
"""

from __future__ import annotations

import csv
from pathlib import Path

HERE = Path(__file__).resolve().parent

FILES: dict[str, dict[str, list[list[str]]]] = {
    "eight": {
        "名刺一覧.csv": [
            [
                "会社名",
                "部署名",
                "役職",
                "姓",
                "名",
                "e-mail",
                "郵便番号",
                "住所",
                "TEL会社",
                "TEL部門",
                "TEL直通",
                "Fax",
                "携帯電話",
                "URL",
                "名刺交換日",
                "展示会2025",
                "要フォロー",
            ],
            [
                "株式会社サンプル商事",
                "営業本部 第一営業部",
                "部長",
                "山田",
                "太郎",
                "t.yamada@sample-shoji.example",
                "100-0001",
                "東京都千代田区千代田1-1",
                "03-1111-0000",
                "03-1111-0100",
                "03-1111-0101",
                "03-1111-0199",
                "090-0000-0001",
                "https://sample-shoji.example",
                "2025/04/01",
                "1",
                "",
            ],
            [
                "架空工業株式会社",
                "技術部",
                "",
                "佐藤",
                "花子",
                "",
                "",
                "",
                "06-2222-0000",
                "",
                "",
                "",
                "",
                "",
                "2025/04/02",
                "",
                "1",
            ],
        ]
    },
    "sansan": {
        "sansan_meishi.csv": [
            [
                "会社名",
                "部署名",
                "役職",
                "氏名",
                "フリガナ",
                "メールアドレス",
                "電話番号",
                "携帯電話",
                "郵便番号",
                "住所",
                "URL",
                "名刺交換日",
                "所有者",
                "所有者部署",
            ],
            [
                "株式会社サンプル商事",
                "情報システム部",
                "課長",
                "鈴木 一郎",
                "スズキ イチロウ",
                "i.suzuki@sample-shoji.example",
                "03-1111-2222",
                "080-0000-0002",
                "100-0001",
                "東京都千代田区千代田1-1",
                "https://sample-shoji.example",
                "2025-03-15",
                "高橋 次郎",
                "第二営業部",
            ],
            [
                "有限会社テスト",
                "",
                "代表取締役",
                "田中　実",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "2025-03-16",
                "高橋 次郎",
                "第二営業部",
            ],
        ]
    },
    "salesforce_account": {
        "Account.csv": [
            [
                "Id",
                "Name",
                "Phone",
                "Website",
                "BillingPostalCode",
                "BillingState",
                "BillingCity",
                "BillingStreet",
                "ParentId",
                "OwnerId",
                "Industry",
            ],
            [
                "001000000000001AAA",
                "株式会社サンプル商事",
                "03-1111-0000",
                "https://sample-shoji.example",
                "100-0001",
                "東京都",
                "千代田区",
                "千代田1-1",
                "",
                "005000000000001AAA",
                "商社",
            ],
            [
                "001000000000002",
                "サンプル商事ロジ株式会社",
                "",
                "",
                "",
                "",
                "",
                "",
                "001000000000001",
                "005000000000009",
                "",
            ],
        ],
        "User.csv": [
            ["Id", "Name", "Department", "Username"],
            ["005000000000001AAA", "営業 一郎", "第一営業部", "ichiro@ours.example"],
        ],
    },
    "salesforce_contact": {
        "Contact.csv": [
            [
                "Id",
                "AccountId",
                "LastName",
                "FirstName",
                "Email",
                "Phone",
                "MobilePhone",
                "Department",
                "Title",
                "OwnerId",
                "CreatedDate",
                "LastActivityDate",
            ],
            [
                "003000000000001AAA",
                "001000000000001AAA",
                "山田",
                "太郎",
                "t.yamada@sample-shoji.example",
                "03-1111-0101",
                "",
                "第一営業部",
                "部長",
                "005000000000001AAA",
                "2025-01-10T02:30:00.000Z",
                "2025-03-01",
            ],
            [
                "003000000000002AAA",
                "001000000000001AAA",
                "Smith",
                "Anna",
                "",
                "",
                "",
                "",
                "",
                "005000000000002AAA",
                "2025-01-11T02:30:00.000Z",
                "",
            ],
        ],
        "User.csv": [
            ["Id", "LastName", "FirstName", "Department"],
            ["005000000000001AAA", "営業", "一郎", "第一営業部"],
            ["005000000000002AAA", "販売", "花子", "マーケティング部"],
        ],
    },
    "salesforce_lead": {
        "Lead.csv": [
            [
                "Id",
                "Company",
                "LastName",
                "FirstName",
                "Email",
                "Phone",
                "Title",
                "Status",
                "OwnerId",
                "CreatedDate",
            ],
            [
                "00Q000000000001AAA",
                "架空工業株式会社",
                "佐藤",
                "花子",
                "h.sato@kaku-kogyo.example",
                "06-2222-0000",
                "主任",
                "Open - Not Contacted",
                "005000000000001AAA",
                "2025-02-01T00:00:00.000Z",
            ],
        ]
    },
    "salesforce_opportunity": {
        "Opportunity.csv": [
            [
                "Id",
                "AccountId",
                "ContactId",
                "Name",
                "StageName",
                "Amount",
                "IsClosed",
                "CloseDate",
                "CreatedDate",
                "OwnerId",
                "Product__c",
            ],
            [
                "006000000000001AAA",
                "001000000000001AAA",
                "003000000000001AAA",
                "基幹システム刷新",
                "Proposal",
                "1200000",
                "false",
                "2025-06-30",
                "2025-02-15T01:00:00.000Z",
                "005000000000001AAA",
                "ERP",
            ],
        ],
        "User.csv": [
            ["Id", "Name", "Department"],
            ["005000000000001AAA", "営業 一郎", "第一営業部"],
        ],
    },
    "salesforce_ja_account": {
        "取引先.csv": [
            [
                "取引先 ID",
                "取引先名",
                "電話",
                "Web サイト",
                "請求先郵便番号",
                "請求先都道府県",
                "請求先市区郡",
                "請求先町名・番地",
                "親取引先 ID",
                "所有者 ID",
            ],
            [
                "001000000000003AAA",
                "株式会社サンプル商事",
                "03-1111-0000",
                "sample-shoji.example",
                "100-0001",
                "東京都",
                "千代田区",
                "千代田1-1",
                "",
                "005000000000001AAA",
            ],
        ]
    },
    "salesforce_ja_contact": {
        "取引先責任者.csv": [
            [
                "取引先責任者 ID",
                "取引先 ID",
                "姓",
                "名",
                "メール",
                "電話",
                "携帯",
                "部署",
                "役職",
                "作成日",
                "最終活動日",
                "取引先責任者 所有者",
            ],
            [
                "003000000000003AAA",
                "001000000000003AAA",
                "山田",
                "太郎",
                "t.yamada@sample-shoji.example",
                "03-1111-0101",
                "",
                "第一営業部",
                "部長",
                "2025/01/10",
                "2025/03/01",
                "営業 一郎",
            ],
        ]
    },
    "salesforce_ja_lead": {
        "リード.csv": [
            [
                "リード ID",
                "会社名",
                "姓",
                "名",
                "メール",
                "電話",
                "役職",
                "リード状況",
                "作成日",
                "リード所有者",
            ],
            [
                "00Q000000000002AAA",
                "架空工業株式会社",
                "佐藤",
                "花子",
                "h.sato@kaku-kogyo.example",
                "06-2222-0000",
                "主任",
                "未対応",
                "2025/02/01",
                "販売 花子",
            ],
        ]
    },
    "salesforce_ja_opportunity": {
        "商談.csv": [
            [
                "商談 ID",
                "取引先 ID",
                "商談名",
                "フェーズ",
                "金額",
                "完了",
                "完了予定日",
                "作成日",
                "商談 所有者",
            ],
            [
                "006000000000002AAA",
                "001000000000003AAA",
                "基幹システム刷新",
                "提案",
                "¥1,200,000",
                "0",
                "2025/06/30",
                "2025/02/15",
                "営業 一郎",
            ],
        ]
    },
    "marketo_lead": {
        "marketo_export.csv": [
            [
                "Id",
                "Email Address",
                "First Name",
                "Last Name",
                "Company Name",
                "Job Title",
                "Phone Number",
                "Department",
                "Lead Score",
                "Created At",
            ],
            [
                "1001",
                "t.yamada@sample-shoji.example",
                "太郎",
                "山田",
                "株式会社サンプル商事",
                "部長",
                "03-1111-0101",
                "第一営業部",
                "85",
                "2025-01-20 10:15:00",
            ],
        ]
    },
    "hubspot_contact": {
        "hubspot-contacts.csv": [
            [
                "Record ID",
                "First Name",
                "Last Name",
                "Email",
                "Phone Number",
                "Company Name",
                "Job Title",
                "Create Date",
                "Lifecycle Stage",
            ],
            [
                "51",
                "Anna",
                "Smith",
                "anna.smith@sample-shoji.example",
                "",
                "Sample Shoji Co., Ltd.",
                "Manager",
                "2025-02-03 09:00",
                "lead",
            ],
        ]
    },
    "marketo_activity": {
        "activities.csv": [
            [
                "Activity Id",
                "Lead Id",
                "Activity Date",
                "Activity Type",
                "Primary Attribute Value",
                "Campaign",
            ],
            ["9001", "1001", "2025-03-03T05:00:00Z", "Fill Out Form", "資料請求フォーム", "2025春セミナー"],
        ]
    },
}


def main() -> None:
    for layout, files in FILES.items():
        folder = HERE / layout
        folder.mkdir(exist_ok=True)
        for name, rows in files.items():
            encoding = (
                "cp932"
                if layout == "eight"
                else "utf-8-sig"
                if layout.startswith("salesforce_ja")
                else "utf-8"
            )
            with open(folder / name, "w", encoding=encoding, newline="") as fh:
                csv.writer(fh, lineterminator="\r\n").writerows(rows)


if __name__ == "__main__":
    main()
