"""Word lists for synthetic data: generic first and last names, invented places, and the words parents use
for the people in their lives. Nothing here names a real person or a real organisation.

Language rule: person-first and non-stigmatising ("person with a substance use disorder", "substance use",
"medication for OUD"). ``tests/test_seed.py`` checks every generated text against a list of words to avoid.
"""

from __future__ import annotations

from kinfold.families.models import RelationshipCategory as Cat

PARENT_FIRST_NAMES = (
    "Aaliyah", "Abigail", "Alexis", "Alicia", "Allison", "Amanda", "Amber", "Amy", "Andrea", "Angela",
    "Anna", "April", "Ashley", "Bethany", "Brandi", "Brianna", "Brittany", "Caitlin", "Candace", "Carly",
    "Cassandra", "Chelsea", "Cheyenne", "Chloe", "Courtney", "Crystal", "Danielle", "Desiree", "Destiny",
    "Ebony", "Emily", "Erica", "Erin", "Faith", "Hailey", "Hannah", "Heather", "Holly", "Jasmine", "Jenna",
    "Jennifer", "Jessica", "Jordan", "Kaitlyn", "Kayla", "Kelsey", "Kiara", "Kimberly", "Kristen", "Krystal",
    "Latasha", "Lauren", "Leah", "Lindsey", "Mackenzie", "Madison", "Megan", "Melissa", "Michelle", "Miranda",
    "Monique", "Morgan", "Natalie", "Nicole", "Olivia", "Paige", "Rachel", "Rebecca", "Samantha", "Sarah",
    "Savannah", "Shanice", "Shannon", "Sierra", "Stephanie", "Summer", "Tamara", "Taylor", "Tiffany", "Tonya",
    "Vanessa", "Whitney",
)  # fmt: skip

SPANISH_FIRST_NAMES = (
    "Adriana", "Alejandra", "Ana", "Beatriz", "Carmen", "Claudia", "Daniela", "Elena", "Esperanza",
    "Fernanda", "Gabriela", "Guadalupe", "Isabel", "Jimena", "Josefina", "Juana", "Leticia", "Lucía",
    "Luz", "Marisol", "María", "Mariana", "Mercedes", "Natalia", "Paola", "Rosa", "Sofía", "Valeria",
    "Verónica", "Ximena", "Yesenia", "Yolanda",
)  # fmt: skip

SURNAMES = (
    "Adams", "Allen", "Anderson", "Bailey", "Baker", "Barnes", "Bell", "Bennett", "Brooks", "Brown",
    "Bryant", "Butler", "Campbell", "Carter", "Clark", "Coleman", "Collins", "Cook", "Cooper", "Cox",
    "Davis", "Dixon", "Edwards", "Ellis", "Evans", "Fisher", "Foster", "Gibson", "Graham", "Gray", "Green",
    "Griffin", "Hall", "Hamilton", "Harris", "Hayes", "Henderson", "Hill", "Holmes", "Howard", "Hughes",
    "Jackson", "James", "Jenkins", "Johnson", "Jones", "Kelly", "King", "Lee", "Lewis", "Long", "Marshall",
    "Martin", "Mason", "Miller", "Mitchell", "Moore", "Morgan", "Morris", "Murphy", "Myers", "Nelson",
    "Owens", "Parker", "Patterson", "Perry", "Peterson", "Phillips", "Powell", "Price", "Reed", "Reynolds",
    "Richardson", "Roberts", "Robinson", "Rogers", "Russell", "Sanders", "Scott", "Shaw", "Simmons",
    "Smith", "Stewart", "Sullivan", "Taylor", "Thomas", "Thompson", "Turner", "Walker", "Wallace", "Ward",
    "Warren", "Washington", "Watson", "West", "White", "Williams", "Wilson", "Wood", "Wright", "Young",
)  # fmt: skip

SPANISH_SURNAMES = (
    "Aguilar", "Álvarez", "Castillo", "Castro", "Chávez", "Cruz", "Delgado", "Díaz", "Espinoza", "Flores",
    "García", "Gómez", "González", "Guerrero", "Gutiérrez", "Hernández", "Herrera", "Jiménez", "López",
    "Martínez", "Medina", "Mendoza", "Morales", "Moreno", "Ortiz", "Ramírez", "Ramos", "Reyes", "Rivera",
    "Rodríguez", "Romero", "Ruiz", "Salazar", "Sánchez", "Torres", "Vargas", "Vásquez",
)  # fmt: skip

STAFF_FIRST_NAMES = (
    "Aaron", "Adrian", "Alan", "Alice", "Andre", "Angela", "Anthony", "Beth", "Brian", "Carla", "Carlos",
    "Caroline", "Chris", "Claire", "Daniel", "Dana", "Darnell", "Deborah", "Denise", "Derek", "Diane",
    "Elaine", "Eric", "Felicia", "Frank", "Gloria", "Grace", "Gregory", "Helen", "Ian", "Irene", "Jacob",
    "Janet", "Jason", "Joan", "Jonathan", "Joyce", "Julia", "Karen", "Keisha", "Kevin", "Laura", "Linda",
    "Lisa", "Luis", "Marcus", "Margaret", "Mark", "Martha", "Michael", "Monica", "Nancy", "Nathan", "Omar",
    "Pamela", "Patricia", "Paul", "Priya", "Raymond", "Renee", "Robert", "Ruth", "Sandra", "Sean", "Sharon",
    "Simone", "Stephen", "Susan", "Teresa", "Theresa", "Thomas", "Valerie", "Victor", "Wanda", "Yvonne",
)  # fmt: skip

GIRL_NAMES = (
    "Amara", "Aria", "Ava", "Bella", "Camila", "Charlotte", "Ella", "Emma", "Evelyn", "Gianna", "Harper",
    "Isla", "Ivy", "Layla", "Lily", "Luna", "Maya", "Mia", "Nora", "Riley", "Ruby", "Sadie", "Stella", "Zoe",
)  # fmt: skip
BOY_NAMES = (
    "Aiden", "Asher", "Caleb", "Carter", "Elijah", "Ezra", "Gabriel", "Grayson", "Hudson", "Isaiah",
    "Jaxon", "Josiah", "Leo", "Levi", "Liam", "Lucas", "Mateo", "Miles", "Noah", "Owen", "Santiago",
    "Theo", "Wyatt", "Xavier",
)  # fmt: skip
RELATIVE_MEN = ("Anthony", "Brandon", "Chris", "Cody", "Derek", "Dustin", "Jamal", "Jose", "Justin", "Kyle",
                "Marcus", "Matt", "Ray", "Travis", "Tyler")  # fmt: skip
RELATIVE_WOMEN = ("Barbara", "Brenda", "Carol", "Debbie", "Donna", "Kathy", "Linda", "Pam", "Rhonda",
                  "Sheila", "Tammy", "Teresa", "Vicki", "Wendy")  # fmt: skip

NICKNAMES = {
    "Alexis": "Lexi", "Samantha": "Sam", "Cassandra": "Cassie", "Jennifer": "Jen", "Kimberly": "Kim",
    "Rebecca": "Becca", "Natalie": "Nat", "Elizabeth": "Liz", "Stephanie": "Steph", "Guadalupe": "Lupe",
    "Josefina": "Josie", "Mackenzie": "Kenzie", "Madison": "Maddie", "Victoria": "Tori",
}  # fmt: skip

# Invented neighbourhoods and towns for organisation names and addresses.
PLACES = (
    "Northside", "Riverbend", "Cedar Hollow", "Maple Grove", "Harbor Point", "Stonebridge", "Willow Creek",
    "Pine Ridge", "Eastgate", "Fairhaven", "Millbrook", "Oak Terrace", "Brookside", "Elm Park", "Southport",
    "Westfield", "Bayview", "Clearwater", "Ashford", "Birch Falls", "Copper Hill", "Dunmore Flats",
    "Foxglove", "Glenwood", "Hollis Bend", "Ironwood", "Juniper Heights", "Kestrel Lake", "Larkspur",
    "Meadowlark", "Nettle Creek", "Orchard Valley", "Quarry Hill", "Redfern", "Sandpiper Cove",
    "Thistle Park",
)  # fmt: skip
STREETS = ("Main St", "Oak Ave", "Lake Rd", "Mill St", "Church St", "Park Ave", "River Rd", "Center St",
           "Elm St", "High St", "Union Ave", "Market St", "Washington Ave", "Spring St")  # fmt: skip

# (category, English description, Spanish description, man/woman/either, min age, max age or None,
#  chance she lives with the parent, same family name as the parent)
RelativeKind = tuple[str, str, str, str, int, int | None, float, bool]
RELATIVE_KINDS: tuple[RelativeKind, ...] = (
    (Cat.PARTNER, "my partner", "mi pareja", "either", 18, 50, 0.7, False),
    (Cat.PARTNER, "my boyfriend", "mi novio", "man", 18, 50, 0.6, False),
    (Cat.PARTNER, "my husband", "mi esposo", "man", 20, 55, 0.9, True),
    (Cat.PARTNER, "baby's dad", "el papá del bebé", "man", 18, 50, 0.4, False),
    (Cat.PARENT, "my mom", "mi mamá", "woman", 36, 70, 0.35, True),
    (Cat.PARENT, "my dad", "mi papá", "man", 38, 72, 0.2, True),
    (Cat.PARENT, "my stepmom", "mi madrastra", "woman", 36, 70, 0.15, False),
    (Cat.SIBLING, "my sister", "mi hermana", "woman", 14, 45, 0.25, True),
    (Cat.SIBLING, "my brother", "mi hermano", "man", 14, 45, 0.15, True),
    (Cat.OTHER_RELATIVE, "my grandma", "mi abuela", "woman", 55, 90, 0.2, True),
    (Cat.OTHER_RELATIVE, "my aunt", "mi tía", "woman", 35, 75, 0.1, False),
    (Cat.OTHER_RELATIVE, "my cousin", "mi prima", "woman", 16, 45, 0.1, False),
    (Cat.OTHER_RELATIVE, "my grandmother who raised me", "mi abuela, que me crió", "woman", 55, 90, 0.3,
     False),
    (Cat.CHILD, "my son", "mi hijo", "boy", 4, 14, 0.7, True),
    (Cat.CHILD, "my daughter", "mi hija", "girl", 4, 14, 0.7, True),
    (Cat.CHILD, "my oldest", "mi hijo mayor", "boy", 6, 16, 0.6, True),
    (Cat.FOSTER_PARENT, "foster mom of my son", "la mamá de crianza de mi hijo", "woman", 30, 65, 0.0, False),
    (Cat.FOSTER_PARENT, "my aunt, who has my daughter right now", "mi tía, que cuida a mi hija", "woman",
     35, 70, 0.0, False),
    (Cat.FOSTER_PARENT, "kinship caregiver for my kids", "cuida a mis hijos", "woman", 40, 75, 0.0, False),
    (Cat.FRIEND, "my best friend", "mi mejor amiga", "woman", 18, 45, 0.1, False),
    (Cat.FRIEND, "my neighbor", "mi vecina", "woman", 20, 80, 0.0, False),
    (Cat.FRIEND, "my friend from church", "mi amiga de la iglesia", "woman", 20, 70, 0.0, False),
    (Cat.SPONSOR, "my sponsor", "mi madrina", "woman", 25, 70, 0.0, False),
    (Cat.SPONSOR, "my recovery sponsor", "mi madrina en recuperación", "woman", 25, 70, 0.0, False),
    (Cat.SUPPORT_PERSON, "the lady who drives me", "la señora que me lleva", "woman", 40, 75, 0.0, False),
    (Cat.SUPPORT_PERSON, "my doula", "mi doula", "woman", 25, 60, 0.0, False),
    (Cat.SUPPORT_PERSON, "my pastor", "mi pastor", "man", 35, 75, 0.0, False),
    (Cat.OTHER, "my roommate", "mi compañera de cuarto", "woman", 18, 45, 1.0, False),
    (Cat.OTHER, "my son's dad", "el papá de mi hijo", "man", 20, 50, 0.0, False),
)  # fmt: skip
RELATIVE_WEIGHTS = (10, 6, 4, 4, 9, 3, 1, 4, 2, 4, 2, 2, 2, 3, 3, 2, 1, 1, 1, 3, 2, 1, 3, 1, 2, 2, 1, 1, 1)
