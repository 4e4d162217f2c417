"""legal regimes as dated data: policies with validity dates, pause rules, force majeure,
citations and calendars; clocks that record every policy that applies; the agency's region;
an earlier receipt recorded by staff

Loads the shipped default policies (so no deployment runs without them) and brings those
an earlier release loaded forward: a default still exactly as shipped is replaced by its
new version (Turkey's "tr-5651", which still cited the annulled Art. 9, is retired and
replaced by "tr-5651-art8" and "tr-5651-add4"; India gets the amended 3 h / 2 h rules
from 20 Feb 2026 beside the 2021 text); one an operator edited is left as edited, and the
upgrade says so. Running clocks keep their deadlines; each clock is given the record of
the policy that governs it, and a clock paused for a clarification says so.

Downgrade removes the new columns and the policies this revision added (their clocks keep
the policy code and source they snapshot), puts the edited defaults back as they were
shipped before, and turns what the older code cannot read into its nearest equivalent:
a "none" pause rule into "extend", a working-days-after rule into business days, and the
category "intimate_imagery" into "privacy".

Revision ID: c9c16c0324a9
Revises: b7e4d2a91c08
Create Date: 2026-12-07 11:40:45.316161

"""
import logging
from datetime import datetime

from alembic import op
import sqlalchemy as sa

import portal.models.columns
from sqlalchemy import Text  # autogenerate writes JSONB(astext_type=Text())
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = 'c9c16c0324a9'
down_revision = 'b7e4d2a91c08'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

#: The defaults as an earlier release shipped them (flask sla load-defaults), frozen here.
SHIPPED_BEFORE = [{'code': 'emergency',
  'name': 'Emergency (threat to life)',
  'jurisdictions': None,
  'categories': None,
  'exclude_categories': [],
  'priorities': ['emergency'],
  'targets': {'acknowledge': {'kind': 'elapsed',
                              'seconds': 900,
                              'cutoff': None,
                              'resume': 'extend'},
              'resolve': {'kind': 'elapsed', 'seconds': 3600, 'cutoff': None, 'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'Platform commitment: emergency requests are handled around the clock',
  'source_url': '',
  'position': 0},
 {'code': 'eu-tco-terrorism',
  'name': 'EU terrorist content removal order',
  'jurisdictions': ['EU'],
  'categories': ['terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed', 'seconds': 3600, 'cutoff': None, 'resume': 'restart'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'Regulation (EU) 2021/784 (TCO) Art. 3(3), 3(7)-(8)',
  'source_url': 'https://eur-lex.europa.eu/eli/reg/2021/784/oj',
  'position': 1},
 {'code': 'eu-dsa-orders',
  'name': 'EU order to act against illegal content',
  'jurisdictions': ['EU'],
  'categories': None,
  'exclude_categories': ['terrorism'],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed', 'seconds': 86400, 'cutoff': None, 'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'Regulation (EU) 2022/2065 (DSA) Art. 9 (platform target; no hours in law)',
  'source_url': 'https://eur-lex.europa.eu/eli/reg/2022/2065/oj',
  'position': 2},
 {'code': 'id-mr5-urgent',
  'name': 'Indonesia urgent takedown (terrorism, child sexual abuse, public order)',
  'jurisdictions': ['ID'],
  'categories': ['child_sexual_abuse', 'public_order', 'terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed', 'seconds': 14400, 'cutoff': None, 'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'Permenkominfo 5/2020 (MR5) Art. 14(3)',
  'source_url': 'https://jdih.kominfo.go.id/produk_hukum/view/id/759/t/peraturan+menteri+komunikasi+dan+informatika+nomor+5+tahun+2020',
  'position': 3},
 {'code': 'id-mr5',
  'name': 'Indonesia takedown request',
  'jurisdictions': ['ID'],
  'categories': None,
  'exclude_categories': ['child_sexual_abuse', 'public_order', 'terrorism'],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed', 'seconds': 86400, 'cutoff': None, 'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': "Permenkominfo 5/2020 (MR5); the channel operators' 'within a day' commitment",
  'source_url': 'https://jdih.kominfo.go.id/produk_hukum/view/id/759/t/peraturan+menteri+komunikasi+dan+informatika+nomor+5+tahun+2020',
  'position': 4},
 {'code': 'tr-5651',
  'name': 'Turkey decision under Law 5651 (Arts. 8, 8/A, 9)',
  'jurisdictions': ['TR'],
  'categories': None,
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed', 'seconds': 14400, 'cutoff': None, 'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'Law No. 5651 Art. 8/A',
  'source_url': 'https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=5651&MevzuatTur=1&MevzuatTertip=5',
  'position': 5},
 {'code': 'in-it-rules-2021',
  'name': 'India court order or government intimation',
  'jurisdictions': ['IN'],
  'categories': None,
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 129600,
                          'cutoff': None,
                          'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021 r. 3(1)(d), as '
            'amended',
  'source_url': 'https://www.meity.gov.in/writereaddata/files/Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf',
  'position': 6},
 {'code': 'default',
  'name': 'Platform default',
  'jurisdictions': None,
  'categories': None,
  'exclude_categories': [],
  'priorities': None,
  'targets': {'acknowledge': {'kind': 'business',
                              'seconds': 28800,
                              'cutoff': None,
                              'resume': 'extend'},
              'resolve': {'kind': 'business',
                          'seconds': 144000,
                          'cutoff': None,
                          'resume': 'extend'},
              'dispute': {'kind': 'business',
                          'seconds': 144000,
                          'cutoff': None,
                          'resume': 'extend'}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'source': 'Platform default',
  'source_url': '',
  'position': 7}]

#: The defaults of this revision (workflows/sla.py DEFAULT_POLICIES), frozen here: a later
#: change of the code does not change what this revision loads.
DEFAULTS = [{'code': 'emergency',
  'name': 'Emergency (threat to life)',
  'jurisdictions': None,
  'categories': None,
  'exclude_categories': [],
  'priorities': ['emergency'],
  'targets': {'acknowledge': {'kind': 'elapsed',
                              'seconds': 900,
                              'cutoff': None,
                              'resume': 'extend',
                              'force_majeure': False},
              'resolve': {'kind': 'elapsed',
                          'seconds': 3600,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': None,
  'basis': 'platform',
  'instrument': '',
  'article': '',
  'valid_from': None,
  'valid_to': None,
  'source': 'Platform commitment: emergency requests are handled around the clock',
  'source_url': '',
  'position': 0,
  'active': True},
 {'code': 'eu-tco-terrorism',
  'name': 'EU terrorist content removal order',
  'jurisdictions': ['EU'],
  'categories': ['terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 3600,
                          'cutoff': None,
                          'resume': 'restart',
                          'force_majeure': True}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Regulation (EU) 2021/784 (TCO)',
  'article': 'Art. 3(3), 3(7)-(8)',
  'valid_from': '2022-06-06T22:00:00+00:00',
  'valid_to': None,
  'source': 'Regulation (EU) 2021/784 (TCO) Art. 3(3), 3(7)-(8)',
  'source_url': 'https://eur-lex.europa.eu/eli/reg/2021/784/oj',
  'position': 10,
  'active': True},
 {'code': 'fr-lcen-6-1',
  'name': 'France administrative removal request (terrorism, child abuse material)',
  'jurisdictions': ['FR'],
  'categories': ['child_sexual_abuse', 'terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 86400,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Loi n° 2004-575 (LCEN)',
  'article': 'art. 6-1',
  'valid_from': None,
  'valid_to': None,
  'source': 'Loi n° 2004-575 (LCEN) art. 6-1: removal within 24 hours',
  'source_url': 'https://www.legifrance.gouv.fr/loda/id/JORFTEXT000000801164',
  'position': 20,
  'active': True},
 {'code': 'eu-dsa-orders',
  'name': 'EU order to act against illegal content',
  'jurisdictions': ['EU'],
  'categories': None,
  'exclude_categories': ['terrorism'],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 86400,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Regulation (EU) 2022/2065 (DSA)',
  'article': 'Art. 9',
  'valid_from': '2024-02-16T23:00:00+00:00',
  'valid_to': None,
  'source': 'Regulation (EU) 2022/2065 (DSA) Art. 9 (platform target; no hours in law)',
  'source_url': 'https://eur-lex.europa.eu/eli/reg/2022/2065/oj',
  'position': 30,
  'active': True},
 {'code': 'eu-e-evidence',
  'name': 'EU production order (electronic evidence)',
  'jurisdictions': ['EU'],
  'categories': None,
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 864000,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['disclose_data'],
  'basis': 'law',
  'instrument': 'Regulation (EU) 2023/1543 (e-Evidence)',
  'article': 'Art. 10(2)',
  'valid_from': '2026-08-17T22:00:00+00:00',
  'valid_to': None,
  'source': 'Regulation (EU) 2023/1543 Art. 10(2): production order, 10 days',
  'source_url': 'https://eur-lex.europa.eu/eli/reg/2023/1543/oj',
  'position': 40,
  'active': True},
 {'code': 'eu-e-evidence-emergency',
  'name': 'EU production order in an emergency',
  'jurisdictions': ['EU'],
  'categories': None,
  'exclude_categories': [],
  'priorities': ['emergency'],
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 28800,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['disclose_data'],
  'basis': 'law',
  'instrument': 'Regulation (EU) 2023/1543 (e-Evidence)',
  'article': 'Art. 10(4)',
  'valid_from': '2026-08-17T22:00:00+00:00',
  'valid_to': None,
  'source': 'Regulation (EU) 2023/1543 Art. 10(4): emergency production order, 8 hours',
  'source_url': 'https://eur-lex.europa.eu/eli/reg/2023/1543/oj',
  'position': 50,
  'active': True},
 {'code': 'id-mr5-urgent',
  'name': 'Indonesia urgent takedown (terrorism, child sexual abuse, public order)',
  'jurisdictions': ['ID'],
  'categories': ['child_sexual_abuse', 'public_order', 'terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 14400,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Permenkominfo 5/2020 (MR5), Ministry of Communication and Digital Affairs '
                '(Komdigi)',
  'article': 'Art. 14(3), 15(8), 16(9)',
  'valid_from': None,
  'valid_to': None,
  'source': 'Permenkominfo 5/2020 (MR5), Ministry of Communication and Digital Affairs (Komdigi) '
            'Art. 14(3) (urgent), Art. 15(8) / 16(9) (4 hours)',
  'source_url': 'https://jdih.kominfo.go.id/produk_hukum/view/id/759/t/peraturan+menteri+komunikasi+dan+informatika+nomor+5+tahun+2020',
  'position': 60,
  'active': True},
 {'code': 'id-mr5',
  'name': 'Indonesia takedown request',
  'jurisdictions': ['ID'],
  'categories': None,
  'exclude_categories': ['child_sexual_abuse', 'public_order', 'terrorism'],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 86400,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Permenkominfo 5/2020 (MR5), Ministry of Communication and Digital Affairs '
                '(Komdigi)',
  'article': 'Art. 15(6), 16(7)',
  'valid_from': None,
  'valid_to': None,
  'source': 'Permenkominfo 5/2020 (MR5), Ministry of Communication and Digital Affairs (Komdigi) '
            'Art. 15(6) / 16(7) (1 x 24 hours)',
  'source_url': 'https://jdih.kominfo.go.id/produk_hukum/view/id/759/t/peraturan+menteri+komunikasi+dan+informatika+nomor+5+tahun+2020',
  'position': 70,
  'active': True},
 {'code': 'tr-5651-art8',
  'name': 'Turkey access-blocking or removal decision under Law 5651 Arts. 8, 8/A',
  'jurisdictions': ['TR'],
  'categories': None,
  'exclude_categories': ['defamation', 'impersonation', 'intellectual_property', 'privacy'],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 14400,
                          'cutoff': None,
                          'resume': 'none',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Law No. 5651',
  'article': 'Arts. 8, 8/A',
  'valid_from': None,
  'valid_to': None,
  'source': 'Law No. 5651 Arts. 8, 8/A: at once, at the latest within 4 hours (no pause)',
  'source_url': 'https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=5651&MevzuatTur=1&MevzuatTertip=5',
  'position': 80,
  'active': True},
 {'code': 'tr-5651-add4',
  'name': 'Turkey social network provider answering applications by individuals',
  'jurisdictions': ['TR'],
  'categories': ['defamation', 'impersonation', 'privacy'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 172800,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Law No. 5651',
  'article': 'Additional Art. 4',
  'valid_from': None,
  'valid_to': None,
  'source': 'Law No. 5651 Additional Art. 4: answer within 48 hours',
  'source_url': 'https://www.mevzuat.gov.tr/mevzuat?MevzuatNo=5651&MevzuatTur=1&MevzuatTertip=5',
  'position': 90,
  'active': True},
 {'code': 'in-it-rules-2021',
  'name': 'India court order or government notice (received before 20 Feb 2026)',
  'jurisdictions': ['IN'],
  'categories': None,
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 129600,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021',
  'article': 'r. 3(1)(d)',
  'valid_from': '2021-02-24T18:30:00+00:00',
  'valid_to': '2026-02-19T18:30:00+00:00',
  'source': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021 r. 3(1)(d) '
            '(2021 text): 36 hours',
  'source_url': 'https://www.meity.gov.in/writereaddata/files/Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf',
  'position': 100,
  'active': True},
 {'code': 'in-it-rules-2021-ncii',
  'name': 'India intimate imagery complaint (received before 20 Feb 2026)',
  'jurisdictions': ['IN'],
  'categories': ['intimate_imagery'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 86400,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021',
  'article': 'r. 3(2)(b)',
  'valid_from': '2021-02-24T18:30:00+00:00',
  'valid_to': '2026-02-19T18:30:00+00:00',
  'source': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021 r. 3(2)(b) '
            '(2021 text): 24 hours',
  'source_url': 'https://www.meity.gov.in/writereaddata/files/Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf',
  'position': 110,
  'active': True},
 {'code': 'in-it-rules-2026',
  'name': 'India court order or government notice (received from 20 Feb 2026)',
  'jurisdictions': ['IN'],
  'categories': None,
  'exclude_categories': ['intimate_imagery'],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 10800,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021, as amended '
                'by G.S.R. 120(E)',
  'article': 'r. 3(1)(d)',
  'valid_from': '2026-02-19T18:30:00+00:00',
  'valid_to': None,
  'source': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021 r. 3(1)(d) as '
            'amended by G.S.R. 120(E) of 10 Feb 2026 (in force 20 Feb 2026): 3 hours',
  'source_url': 'https://www.meity.gov.in/writereaddata/files/Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf',
  'position': 120,
  'active': True},
 {'code': 'in-it-rules-2026-ncii',
  'name': 'India non-consensual intimate imagery (received from 20 Feb 2026)',
  'jurisdictions': ['IN'],
  'categories': ['intimate_imagery'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 7200,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021, as amended '
                'by G.S.R. 120(E)',
  'article': 'r. 3(1)(d), 3(2)(b)',
  'valid_from': '2026-02-19T18:30:00+00:00',
  'valid_to': None,
  'source': 'IT (Intermediary Guidelines and Digital Media Ethics Code) Rules 2021 as amended by '
            'G.S.R. 120(E) of 10 Feb 2026 (in force 20 Feb 2026): non-consensual intimate imagery, '
            '2 hours',
  'source_url': 'https://www.meity.gov.in/writereaddata/files/Intermediary_Guidelines_and_Digital_Media_Ethics_Code_Rules-2021.pdf',
  'position': 130,
  'active': True},
 {'code': 'au-osa-removal',
  'name': 'Australia removal notice (class 1 material)',
  'jurisdictions': ['AU'],
  'categories': ['child_sexual_abuse', 'incitement_to_violence', 'terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'elapsed',
                          'seconds': 86400,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Online Safety Act 2021 (Cth)',
  'article': 'ss 109, 110',
  'valid_from': '2022-01-22T13:00:00+00:00',
  'valid_to': None,
  'source': 'Online Safety Act 2021 (Cth) ss 109, 110: within 24 hours',
  'source_url': 'https://www.legislation.gov.au/C2021A00076/latest/text',
  'position': 140,
  'active': True},
 {'code': 'gb-ta2006-s3',
  'name': 'United Kingdom notice under the Terrorism Act 2006 s.3',
  'jurisdictions': ['GB'],
  'categories': ['terrorism'],
  'exclude_categories': [],
  'priorities': None,
  'targets': {'resolve': {'kind': 'working_days_after',
                          'seconds': 172800,
                          'cutoff': None,
                          'resume': 'none',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': '*',
  'holiday_categories': ['public'],
  'actions': ['remove', 'withhold_in_country'],
  'basis': 'law',
  'instrument': 'Terrorism Act 2006',
  'article': 's. 3(3)-(4), working day: s. 3(9)',
  'valid_from': None,
  'valid_to': None,
  'source': 'Terrorism Act 2006 s. 3: 2 working days (any UK bank holiday, Christmas Day and Good '
            'Friday excluded)',
  'source_url': 'https://www.legislation.gov.uk/ukpga/2006/11/section/3',
  'position': 150,
  'active': True},
 {'code': 'default',
  'name': 'Platform default',
  'jurisdictions': None,
  'categories': None,
  'exclude_categories': [],
  'priorities': None,
  'targets': {'acknowledge': {'kind': 'business',
                              'seconds': 28800,
                              'cutoff': None,
                              'resume': 'extend',
                              'force_majeure': False},
              'resolve': {'kind': 'business',
                          'seconds': 144000,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False},
              'dispute': {'kind': 'business',
                          'seconds': 144000,
                          'cutoff': None,
                          'resume': 'extend',
                          'force_majeure': False}},
  'thresholds': [0.5, 0.75, 0.9, 1.0],
  'calendar_country': None,
  'calendar_subdivision': None,
  'holiday_categories': ['public', 'half_day', 'government'],
  'actions': None,
  'basis': 'platform',
  'instrument': '',
  'article': '',
  'valid_from': None,
  'valid_to': None,
  'source': 'Platform default',
  'source_url': '',
  'position': 160,
  'active': True}]

#: The columns that say what a policy does (what "exactly as shipped" compares).
_COMPARED = ("name", "jurisdictions", "categories", "exclude_categories", "priorities",
             "targets", "thresholds", "source", "source_url")
_PLATFORM = {"emergency", "default"}


def _policies():
    return sa.table(
        "sla_policies", sa.column("id", sa.Integer), sa.column("code", sa.String),
        *(sa.column(name, sa.JSON) for name in (
            "jurisdictions", "categories", "exclude_categories", "priorities", "targets",
            "thresholds", "holiday_categories", "actions")),
        *(sa.column(name, sa.String) for name in (
            "name", "source", "source_url", "calendar_country", "calendar_subdivision",
            "basis", "instrument", "article")),
        sa.column("valid_from", portal.models.columns.UTCDateTime(timezone=True)),
        sa.column("valid_to", portal.models.columns.UTCDateTime(timezone=True)),
        sa.column("position", sa.Integer), sa.column("active", sa.Boolean),
        sa.column("updated_at", portal.models.columns.UTCDateTime(timezone=True)),
    )


def _as_shipped(row, shipped):
    return all(getattr(row, name) == shipped[name] for name in _COMPARED)


def _values(default, now):
    values = dict(default)
    for name in ("valid_from", "valid_to"):
        if values[name] is not None:
            values[name] = datetime.fromisoformat(values[name])
    values["updated_at"] = now
    return values


def _load_defaults():
    bind = op.get_bind()
    table = _policies()
    now = portal.models.columns.utcnow()
    rows = {row.code: row for row in bind.execute(sa.select(table))}
    before = {p["code"]: p for p in SHIPPED_BEFORE}
    for default in DEFAULTS:
        row = rows.get(default["code"])
        values = _values(default, now)
        if row is None:
            bind.execute(table.insert().values(**values))
        elif default["code"] in before and _as_shipped(row, before[default["code"]]):
            values.pop("code")
            values["active"] = row.active
            bind.execute(table.update().where(table.c.id == row.id).values(**values))
        else:
            # Edited by an operator: theirs to bring forward (docs/OPERATIONS.md).
            bind.execute(table.update().where(table.c.id == row.id).values(
                basis="platform" if row.code in _PLATFORM else "law"))
            log.warning("SLA policy %s was edited: left as it is; compare it with the "
                        "shipped default (flask sla policies)", row.code)
    retired = rows.get("tr-5651")
    if retired is not None:
        if _as_shipped(retired, before["tr-5651"]):
            # It cited Art. 9, annulled from 10 Oct 2024; its clocks keep their record.
            bind.execute(table.update().where(table.c.id == retired.id).values(
                active=False, updated_at=now))
        else:
            log.warning("SLA policy tr-5651 was edited: left active beside tr-5651-art8 "
                        "and tr-5651-add4; deactivate it if they replace it")
    for code, row in rows.items():
        if code not in before and code not in {d["code"] for d in DEFAULTS}:
            bind.execute(table.update().where(table.c.id == row.id).values(basis="law"))


def _describe_clocks():
    """Give each clock the record of the policy that governs it (the API's "governing
    policy"), and name the pause of a clock paused for a clarification."""
    bind = op.get_bind()
    clocks = sa.table(
        "sla_clocks", sa.column("id", sa.Integer), sa.column("policy_id", sa.Integer),
        sa.column("policy_code", sa.String), sa.column("source", sa.String),
        sa.column("kind", sa.String), sa.column("seconds", sa.Integer),
        sa.column("cutoff", sa.String), sa.column("resume", sa.String),
        sa.column("due_at", portal.models.columns.UTCDateTime(timezone=True)),
        sa.column("paused_at", portal.models.columns.UTCDateTime(timezone=True)),
        sa.column("matches", sa.JSON), sa.column("pause_reason", sa.String),
    )
    bind.execute(clocks.update().where(clocks.c.paused_at.is_not(None))
                 .values(pause_reason="clarification"))
    policies = {row.id: row for row in bind.execute(sa.select(_policies()))}
    last = 0
    while True:
        batch = bind.execute(
            sa.select(clocks).where(clocks.c.id > last).order_by(clocks.c.id).limit(5000)
        ).all()
        if not batch:
            return
        updates = []
        for clock in batch:
            policy = policies.get(clock.policy_id)
            updates.append({"clock_id": clock.id, "matches": [{
                "policy": clock.policy_code, "policy_id": clock.policy_id,
                "name": policy.name if policy is not None else clock.policy_code,
                "basis": "platform" if clock.policy_code in _PLATFORM else "law",
                "source": clock.source,
                "instrument": policy.instrument if policy is not None else "",
                "article": policy.article if policy is not None else "",
                "url": policy.source_url if policy is not None else "",
                "kind": clock.kind, "seconds": clock.seconds, "cutoff": clock.cutoff,
                "resume": clock.resume, "force_majeure": False,
                "due_at": clock.due_at.isoformat(),
            }]})
        bind.execute(clocks.update().where(clocks.c.id == sa.bindparam("clock_id"))
                     .values(matches=sa.bindparam("matches")), updates)
        last = batch[-1].id


def upgrade():
    # ### commands auto generated by Alembic - please adjust! ###
    with op.batch_alter_table('agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('subdivision', sa.String(length=10), nullable=True))

    with op.batch_alter_table('legal_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('order_received_at', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('order_received_via', sa.String(length=24), nullable=True))

    with op.batch_alter_table('sla_clocks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('force_majeure', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('matches', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('bounds', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), server_default='[]', nullable=False))
        batch_op.add_column(sa.Column('pause_reason', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('clamped', sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table('sla_policies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('holiday_categories', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), server_default='["public"]', nullable=False))
        batch_op.add_column(sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))
        batch_op.add_column(sa.Column('basis', sa.String(length=16), server_default='law', nullable=False))
        batch_op.add_column(sa.Column('instrument', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('article', sa.String(length=100), server_default='', nullable=False))
        batch_op.add_column(sa.Column('valid_from', portal.models.columns.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('valid_to', portal.models.columns.UTCDateTime(timezone=True), nullable=True))

    # ### end Alembic commands ###
    _load_defaults()
    _describe_clocks()


def _downgrade_rule(rule):
    rule = dict(rule)
    rule.pop("force_majeure", None)
    if rule.get("resume") == "none":
        rule["resume"] = "extend"
    if rule.get("kind") == "working_days_after":
        rule["kind"] = "business"
        rule["seconds"] = rule["seconds"] // 86400 * 8 * 3600
    return rule


def _downgrade_data():
    bind = op.get_bind()
    table = _policies()
    clocks = sa.table("sla_clocks", sa.column("policy_id", sa.Integer),
                      sa.column("kind", sa.String), sa.column("seconds", sa.Integer),
                      sa.column("allowance_seconds", sa.Float),
                      sa.column("resume", sa.String))
    before = {p["code"]: p for p in SHIPPED_BEFORE}
    ours = {d["code"]: d for d in DEFAULTS}
    rows = list(bind.execute(sa.select(table)))
    for row in rows:
        if row.code in ours and row.code not in before:
            bind.execute(clocks.update().where(clocks.c.policy_id == row.id)
                         .values(policy_id=None))
            bind.execute(table.delete().where(table.c.id == row.id))
        elif row.code in ours and _as_shipped(row, ours[row.code]):
            # As this revision left it: back to the earlier release's default.
            bind.execute(table.update().where(table.c.id == row.id).values(
                **{name: before[row.code][name] for name in _COMPARED}))
        elif row.code == "tr-5651" and not row.active and _as_shipped(row, before[row.code]):
            bind.execute(table.update().where(table.c.id == row.id).values(active=True))
        else:
            bind.execute(table.update().where(table.c.id == row.id).values(targets={
                target: _downgrade_rule(rule) for target, rule in row.targets.items()
            }))
    bind.execute(clocks.update().where(clocks.c.resume == "none").values(resume="extend"))
    bind.execute(clocks.update().where(clocks.c.kind == "working_days_after").values(
        kind="elapsed", seconds=sa.cast(clocks.c.allowance_seconds, sa.Integer)))
    requests = sa.table("legal_requests", sa.column("category", sa.String))
    bind.execute(requests.update().where(requests.c.category == "intimate_imagery")
                 .values(category="privacy"))


def _drop(table, columns):
    if op.get_bind().dialect.name == "sqlite":
        # Batch mode would recreate the table, which fails while other tables' rows refer
        # to it (foreign keys are on); SQLite 3.35+ drops a plain column in place.
        for column in columns:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        for column in columns:
            op.drop_column(table, column)


def downgrade():
    _downgrade_data()
    _drop("sla_policies", ["valid_to", "valid_from", "article", "instrument", "basis",
                           "actions", "holiday_categories"])
    _drop("sla_clocks", ["clamped", "pause_reason", "bounds", "matches", "force_majeure"])
    _drop("legal_requests", ["order_received_via", "order_received_at"])
    _drop("agencies", ["subdivision"])
