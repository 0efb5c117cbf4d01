"""Phrase tables for the offline demo content (see :mod:`research.providers.demo_content`)."""

from __future__ import annotations

STOPWORDS = frozenset("a an and the of in on for to with by from at or vs via into based market markets "
                       "industry sector global new b2b b2c this that these your you are all now true false".split())
FIRST = ("North", "Blue", "Amber", "Quill", "Lark", "Fern", "Copper", "Hollow", "Tide", "Cinder", "Wren", "Marl")
SECOND = ("wind", "fjord", "field", "stone", "spire", "brook", "gate", "vale", "crest", "moor", "haven", "ridge")
SUFFIXES = ("Labs", "Group", "Systems", "Networks", "Partners", "Holdings", "Technologies", "Analytics", "Co.")
CONSUMER_WORDS = frozenset("residential household households consumer consumers home homes homeowner homeowners "
                           "domestic family families personal private b2c".split())
BUSINESS_WORDS = frozenset("b2b enterprise enterprises industrial business businesses corporate commercial saas "
                           "software platform analytics cloud api erp crm hr payroll wholesale manufacturing "
                           "manufacturers procurement fleet fleets smb smbs sme smes".split())
# ISO code, units per USD (rough, for scaling only) and the topic words that name a region using it;
# the euro's words include its region ("europe"), which a country of any currency overrides
CURRENCIES: tuple[tuple[str, float, frozenset[str]], ...] = tuple(
    (code, rate, frozenset(words.split())) for code, rate, words in (
        ("PLN", 4.0, "poland polish warsaw krakow"),
        ("GBP", 0.8, "uk britain british england scotland scottish wales welsh london"),
        ("JPY", 150.0, "japan japanese tokyo osaka"),
        ("CHF", 0.9, "switzerland swiss zurich zürich geneva basel"),
        ("SEK", 10.5, "sweden swedish stockholm"),
        ("NOK", 10.7, "norway norwegian oslo"),
        ("DKK", 6.9, "denmark danish copenhagen"),
        ("INR", 83.0, "india indian mumbai delhi bangalore bengaluru"),
        ("CNY", 7.2, "china chinese beijing shanghai shenzhen"),
        ("BRL", 5.0, "brazil brazilian"),
        ("CAD", 1.35, "canada canadian toronto vancouver montreal"),
        ("AUD", 1.5, "australia australian sydney melbourne"),
        ("USD", 1.0, "usa america american"),
        ("EUR", 0.92, "germany german france french spain spanish italy italian netherlands dutch belgium "
                      "belgian austria austrian ireland irish portugal portuguese finland finnish greece greek "
                      "luxembourg slovakia slovak slovenia estonia latvia lithuania croatia cyprus malta berlin "
                      "munich paris madrid barcelona rome milan amsterdam vienna dublin lisbon helsinki athens"),
    ))
EURO_REGION_WORDS = frozenset("europe european eu eurozone euro".split())

TRENDS = ("Shift from one-off purchases to subscription and usage-based pricing",
           "Consolidation as larger players acquire niche providers", "Bundling with adjacent products and services",
           "Growing use of data and automation to cut operating costs", "Price competition in the entry-level tier",
           "Rising buyer expectations for sustainability credentials",
           "Entry of well-funded start-ups with digital-first offers",
           "Closer regulatory attention to standards and transparency")
DRIVERS = ("Rising mainstream awareness of {L}", "Supportive policy and public funding",
            "Falling unit costs as volumes scale", "Demand from digitally native buyers",
            "Corporate sustainability and efficiency targets", "Better financing and partnership options")
RISKS = ("Margin pressure from aggressive price competition", "Regulatory changes that raise compliance costs",
          "Supply-chain disruption and input-cost volatility", "Slower adoption if the economy weakens",
          "Dependence on a few large channel partners", "Technology shifts that make current offers obsolete")
POSITIONING = ("Premium full-service provider focused on large accounts",
                "Low-cost challenger competing on price and simplicity", "Fast-growing start-up targeting niches",
                "Technology-led specialist with a strong product roadmap",
                "Regional incumbent with deep distribution relationships",
                "Diversified player bundling its core offer with adjacent services")
STRENGTHS = ("Strong brand recognition", "Broad distribution network", "Competitive pricing",
              "Fast product innovation", "Large installed customer base", "Well-funded balance sheet",
              "High customer satisfaction scores")
WEAKNESSES = ("Limited presence outside its home region", "Higher prices than most rivals",
               "Ageing product portfolio", "Thin margins", "Small sales team",
               "Reliance on a few large customers", "Mixed reviews of its service quality")
# (segment name, willingness to pay, weight range for its share of customers, pain points, buying patterns)
Segment = tuple[str, str, tuple[float, float], tuple[str, ...], tuple[str, ...]]
CONSUMER_SEGMENTS: tuple[Segment, ...] = (
    ("Early adopters", "high", (1.0, 2.5), ("Limited choice of premium options", "Inconsistent quality"),
     ("Try new brands quickly, often online", "Influenced by reviews and social media")),
    ("Mainstream households", "medium", (2.5, 4.5), ("Price premium over conventional alternatives", "Unclear benefits"),
     ("Buy through mainstream retail and online channels", "Switch brands when promotions run")),
    ("Premium, quality-focused households", "high", (0.8, 2.0), ("Few offers match their standards",),
     ("Loyal to trusted brands", "Value service, design and provenance")),
    ("Price-sensitive households", "low", (1.5, 4.0), ("Budget constraints", "Distrust of a new category"),
     ("Wait for discounts or own-label products", "Compare prices across channels")),
    ("Families with children", "medium", (1.5, 3.5), ("Tight household budgets", "Little time to compare options"),
     ("Buy bundles or larger packs", "Rely on recommendations from friends and family")),
    ("Older, convenience-seeking households", "high", (1.0, 2.5),
     ("Products that are hard to set up or use", "Distrust of unfamiliar brands"),
     ("Prefer in-person advice and installation", "Stay with brands they know")),
)
BUSINESS_SEGMENTS: tuple[Segment, ...] = (
    ("Small businesses", "low", (4.0, 8.0), ("Tight budgets", "Little time to evaluate vendors"),
     ("Self-serve sign-up with monthly billing", "Preference for bundled offers")),
    ("Mid-size companies", "medium", (1.5, 3.0), ("Outgrowing basic tools", "Limited in-house expertise"),
     ("Shortlists from peer referrals and review sites", "Annual contracts after a pilot")),
    ("Large enterprises", "high", (0.4, 1.0), ("Complex integration with existing systems", "Lengthy compliance reviews"),
     ("Formal tenders with multi-year contracts", "Committee decisions involving IT and finance")),
    ("Public sector and non-profits", "medium", (0.5, 1.5), ("Strict procurement rules", "Budget cycles that delay purchases"),
     ("Framework agreements and tenders", "Preference for established, compliant vendors")),
)
MIXED_SEGMENTS: tuple[Segment, ...] = (
    ("Early adopters", "high", (1.0, 2.5), ("Limited choice of premium options", "Inconsistent quality"),
     ("Try new brands quickly, often online", "Influenced by reviews and social media")),
    ("Mainstream consumers", "medium", (2.5, 4.5), ("Price premium over conventional alternatives", "Unclear benefits"),
     ("Buy through mainstream retail and online channels", "Switch brands when promotions run")),
    ("Premium, quality-focused buyers", "high", (0.8, 2.0), ("Few offers match their standards",),
     ("Loyal to trusted brands", "Value service, design and provenance")),
    ("Price-sensitive buyers", "low", (1.5, 4.0), ("Budget constraints", "Distrust of a new category"),
     ("Wait for discounts or own-label products", "Compare prices across channels")),
    ("Business and institutional buyers", "medium", (0.3, 1.0), ("Need reliable supply at volume", "Total cost of ownership"),
     ("Framework contracts with fixed pricing", "Procurement-led vendor selection")),
)
# per kind of market: what its customers are counted in, the range of their total count, the remainder's name
CUSTOMER_BASES = {"consumer": ("households", (200_000, 6_000_000), "Other households"),
                  "business": ("organisations", (15_000, 600_000), "Other organisations"),
                  "mixed": ("customers", (150_000, 5_000_000), "Other customers")}
REMAINDER = ("medium", "Varies; these customers were not profiled separately",
             ("Needs vary; not profiled separately",), ("No single dominant buying pattern",))
UNAVAILABLE = {"market": ("Market", "No market size, growth rate or trends are given in this report."),
                "competitor": ("Competitor", "No competitors or market shares are named in this report."),
                "customer": ("Customer", "No customer segments are described in this report.")}
WTP_NOTES = {"high": "Will pay a premium for reliability, service and integration",
              "medium": "Pays market rates but expects clear value for money",
              "low": "Very price-sensitive; buys mainly on discount"}
