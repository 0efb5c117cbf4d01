"""Phrase tables for the offline demo content (see :mod:`research.providers.demo_content`)."""

from __future__ import annotations

STOPWORDS = frozenset("a an and the of in on for to with by from at or vs via into based market markets "
                       "industry sector global new b2b b2c this that these your you are all now true false".split())
FIRST = ("North", "Blue", "Amber", "Quill", "Lark", "Fern", "Copper", "Hollow", "Tide", "Cinder", "Wren", "Marl")
SECOND = ("wind", "fjord", "field", "stone", "spire", "brook", "gate", "vale", "crest", "moor", "haven", "ridge")
SUFFIXES = ("Labs", "Group", "Systems", "Networks", "Partners", "Holdings", "Technologies", "Analytics", "Co.")
B2B_WORDS = frozenset("b2b software saas enterprise platform payroll analytics cloud api erp crm hr".split())

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
# (segment name, size unit, typical count in a regional market, willingness to pay, pain points, buying patterns)
Segment = tuple[str, str, int, str, tuple[str, ...], tuple[str, ...]]
B2B_SEGMENTS: tuple[Segment, ...] = (
    ("Large enterprises", "companies with 1,000+ employees", 2_000, "high",
     ("Complex integration with existing systems", "Lengthy compliance reviews"),
     ("Formal tenders with multi-year contracts", "Committee decisions involving IT and finance")),
    ("Mid-size companies", "firms with 100-999 employees", 20_000, "medium",
     ("Outgrowing basic tools", "Limited in-house expertise"),
     ("Shortlists from peer referrals and review sites", "Annual contracts after a pilot")),
    ("Small businesses", "firms with fewer than 100 employees", 400_000, "low",
     ("Tight budgets", "Little time to evaluate vendors"),
     ("Self-serve sign-up with monthly billing", "Preference for bundled offers")),
    ("Public sector and non-profits", "public bodies and non-profits", 15_000, "medium",
     ("Strict procurement rules", "Budget cycles that delay purchases"),
     ("Framework agreements and tenders", "Preference for established, compliant vendors")),
)
MIXED_SEGMENTS: tuple[Segment, ...] = (
    ("Early adopters", "households", 300_000, "high", ("Limited choice of premium options", "Inconsistent quality"),
     ("Try new brands quickly, often online", "Influenced by reviews and social media")),
    ("Mainstream consumers", "households", 2_000_000, "medium",
     ("Price premium over conventional alternatives", "Unclear benefits"),
     ("Buy through mainstream retail and online channels", "Switch brands when promotions run")),
    ("Premium, quality-focused buyers", "high-income households", 400_000, "high",
     ("Few offers match their standards",), ("Loyal to trusted brands", "Value service, design and provenance")),
    ("Business and institutional buyers", "businesses, fleets and institutions", 30_000, "medium",
     ("Need reliable supply at volume", "Total cost of ownership"),
     ("Framework contracts with fixed pricing", "Procurement-led vendor selection")),
    ("Price-sensitive buyers", "households", 1_500_000, "low", ("Budget constraints", "Distrust of a new category"),
     ("Wait for discounts or own-label products", "Compare prices across channels")),
)
UNAVAILABLE = {"market": ("Market", "No market size, growth rate or trends are given in this report."),
                "competitor": ("Competitor", "No competitors or market shares are named in this report."),
                "customer": ("Customer", "No customer segments are described in this report.")}
WTP_NOTES = {"high": "Will pay a premium for reliability, service and integration",
              "medium": "Pays market rates but expects clear value for money",
              "low": "Very price-sensitive; buys mainly on discount"}
