"""Word lists the dataset generator draws from: people, streets, vendors, work-order texts, statuses.

Non-ASCII entries (é, ñ, ü, CJK) are deliberate: they exercise every charset path end to end.
"""
from __future__ import annotations

FIRST_NAMES = [
    "James", "Maria", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "William", "Elizabeth",
    "Zoë", "José", "Renée", "Jürgen", "Chloé", "Ñuño", "Ana", "Wei", "Yuki", "Aisha", "Mateo", "Olivia",
    "Noah", "Sofía", "Liam", "Emma", "Lucas", "Amara", "Hiroshi", "Priya", "Kwame", "Ingrid", "Björn",
    "Élodie", "Tomás", "Fatima", "Dmitri", "Grace", "Samuel", "Hannah",
]
LAST_NAMES = [
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Müller", "Peña", "Núñez", "Okafor", "Nguyen", "Kim", "Patel", "O'Brien", "Lefèvre", "Søndergaard",
    "陈", "王", "佐藤", "Kowalski", "Haddad", "Ibáñez", "Schröder", "Dubois", "Costa", "Silva", "Ivanova",
    "Anderson", "Thomas", "Jackson", "White", "Harris", "Clark", "Lewis", "Walker", "Young",
]
PORTFOLIO_SUFFIXES = [
    "Properties", "Holdings LLC", "Family Trust", "Investments", "Rentals", "Real Estate", "Estates",
    "Residential", "Capital Partners", "Homes",
]
STREET_NAMES = [
    "Main St", "Oak Ave", "Maple Dr", "Cedar Ln", "Elm St", "Pine Rd", "Lakeview Blvd", "Sunset Ave",
    "Calle Peñasco", "Avenida Señora", "Rue Château", "Königsweg", "Hillcrest Dr", "Willow Way",
    "River Rd", "Park Pl", "Highland Ave", "Meadow Ln", "Forest Dr", "Broadway", "Cypress St",
    "Magnolia Ct", "Bayou Rd", "Ranch Rd", "Peachtree St",
]
CITIES = [
    ("Austin", "TX", "787"), ("Dallas", "TX", "752"), ("Houston", "TX", "770"), ("San Antonio", "TX", "782"),
    ("Denver", "CO", "802"), ("Phoenix", "AZ", "850"), ("Atlanta", "GA", "303"), ("Nashville", "TN", "372"),
    ("Tampa", "FL", "336"), ("Raleigh", "NC", "276"), ("Española", "NM", "875"), ("Cañon City", "CO", "812"),
]
VENDOR_COMPANIES = [
    "Ace Plumbing & Drain", "Brightline Electric", "CoolBreeze HVAC", "Ñandú Appliance Repair",
    "Evergreen Landscaping", "Summit Roofing", "TrueColor Painting", "Bug Off Pest Control",
    "Keystone Locksmiths", "Clearview Glass", "Müller Handyman Services", "Reliable Restoration",
]
FIELD_CREW_COMPANY = "FieldCrew Services"

#: R26's production open statuses, written as PropertyWare users see them
OPEN_STATUSES = [
    "Open", "Unscheduled", "Scheduled", "Scheduled Outside SF", "Dispatched", "Delayed", "On The Way",
    "On Site", "Started", "Paused", "Resumed", "Partially Completed", "WO Received", "Awaiting Parts",
]
CLOSED_STATUSES = ["Closed", "Completed", "Cancelled"]
CATEGORIES = [
    "Plumbing", "Electrical", "HVAC ", "HVAC", "Appliance", "General Maintenance", "Pest Control",
    "Landscaping", "Roofing", "Painting", "Locks & Keys",
]
WO_TYPES = ["General", "General", "General", "Service Request", "Turnover", "Inspection", "Estimate"]
PRIORITIES = [("MEDIUM", 2), ("MEDIUM", 2), ("LOW", 3), ("HIGH", 1), ("Emergency", 1)]
SOURCES = ["None", "Telephone", "In Person", "Email", "Website", "Internal", "Tenant Portal", "Inspection"]
LEASE_STATUSES = ["Active", "Active - Notice Given", "Terminated", "Draft", "Eviction"]
LEASE_STATUS_WEIGHTS = [70, 10, 12, 4, 4]
SERVICE_STATUSES = ["New", "Assigned", "Waiting on Tenant", "Closed"]
ACCESS_NOTES = ["", "", "Call tenant 30 min before arrival", "Lockbox code at front desk",
                "Dog in backyard — knock first", "Llave con el conserje"]

#: (category, description) templates; {room} is filled in
DESCRIPTIONS = [
    ("Plumbing", "Kitchen faucet dripping constantly in the {room}"),
    ("Plumbing", "Toilet running nonstop, water bill concern"),
    ("Plumbing", "Fuga de agua debajo del fregadero de la {room}"),
    ("Electrical", "Outlet sparks when plugging in appliances in the {room}"),
    ("Electrical", "Breaker keeps tripping when the dryer runs"),
    ("HVAC ", "AC not cooling, thermostat reads 84°F"),
    ("HVAC ", "Calefacción no funciona; niño enfermo en casa"),
    ("HVAC", "Heizung im {room} defekt, Thermostat reagiert nicht"),
    ("HVAC", "Furnace makes a loud banging noise at startup"),
    ("Appliance", "Refrigerator not keeping food cold"),
    ("Appliance", "Dishwasher leaves standing water after cycle"),
    ("Appliance", "浴室の換気扇が動かない"),
    ("General Maintenance", "Front door does not latch; weatherstrip torn"),
    ("General Maintenance", "暖气片不热，请尽快维修"),
    ("General Maintenance", "Window in the {room} won't close completely"),
    ("Pest Control", "Ants in the {room} near the window sill"),
    ("Landscaping", "Tree branch leaning over the driveway after the storm"),
    ("Roofing", "Water stain spreading on the {room} ceiling"),
    ("Painting", "Touch-up paint needed after move-out in the {room}"),
    ("Locks & Keys", "Tenant locked out; rekey requested (Zoë, unit owner)"),
]
ROOMS = ["kitchen", "bathroom", "living room", "bedroom", "laundry room", "garage", "hallway"]
NEAR_DUPLICATE_SUFFIXES = [" (second request)", "!", " - tenant called again", ".", " again"]
