"""Word lists the rule recogniser uses where deduce falls short (organisations, places, streets, dates).

Everything here is generic Dutch: trigger nouns, suffixes and months, never names from a particular
transcript, so that the recall measured on the example transcripts says something about new ones.
"""
from __future__ import annotations

MONTHS = (
    "januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
    "november", "december", "jan", "feb", "febr", "mrt", "apr", "jun", "jul", "aug", "sep", "sept", "okt",
    "nov", "dec",
)
WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")

# Capitalised words that start an organisation's own name: "Woonstichting Veltkamp", "Stichting Welzijn X".
ORGANISATION_NAME_HEADS = frozenset("""
Stichting Woonstichting Woningstichting Wooncorporatie Woningcorporatie Woongroep Woonzorg Zorggroep
Zorgkantoor Zorgcentrum Woonzorgcentrum Verpleeghuis Verzorgingshuis Zorgcentra Thuiszorg Welzijn
Welzijnsstichting Vereniging Coöperatie Cooperatie Huisartsenpraktijk Huisartsenpost Gezondheidscentrum
Ziekenhuis Zorgverzekeraar Verzekeraar Zorgorganisatie Zorginstelling Woonbedrijf Wijkteam Buurtteam
Dienstencentrum Wijkcentrum Buurthuis Ouderenbond Seniorenraad Adviesraad Cliëntenraad Clientenraad
Mantelzorgcentrum Steunpunt Makelaardij Aannemersbedrijf Bouwbedrijf Adviesbureau
""".split())

# Lower-case nouns after which a capitalised name is an organisation: "zorgaanbieder Noordzorg".
ORGANISATION_NOUNS = frozenset("""
corporatie woningcorporatie wooncorporatie woonstichting woningstichting zorgaanbieder zorgaanbieders
aanbieder zorgorganisatie zorginstelling instelling zorgverzekeraar verzekeraar verpleeghuis zorgcentrum
woonzorgcentrum verzorgingshuis welzijnsorganisatie welzijnsstichting welzijnsinstelling stichting
thuiszorgorganisatie thuiszorg zorgkantoor huisartsenpraktijk ziekenhuis buurthuis wijkcentrum
dienstencentrum vereniging koepel bureau adviesbureau bouwbedrijf aannemer makelaar ontwikkelaar
projectontwikkelaar woonzorglocatie zorglocatie locatie complex wooncomplex woongroep hofje
""".split())

# Suffixes of a one-word organisation name written as one word: "Noordzorg", "Veltkampwonen".
ORGANISATION_SUFFIXES = ("zorg", "wonen", "welzijn", "groep", "hulp")

# Prepositions after which a capitalised word is usually a place: "in Heerdinge", "naar de Ardèche".
LOCATION_PREPOSITIONS = frozenset("in uit naar te rond richting vanuit nabij buiten".split())
# Nouns after which a capitalised word is a place: "gemeente Heerdinge", "de wijk Oost".
LOCATION_NOUNS = frozenset("""
gemeente gemeentes gemeenten dorp dorpen stad wijk wijken buurt kern kernen regio provincie plaats
woonplaats dorpskern stadsdeel stadje dorpje streek
""".split())

# Street names end in these (a house number may follow): "Stationsweg", "Kerkstraat 12".
STREET_SUFFIXES = (
    "straat", "weg", "laan", "plein", "dijk", "singel", "gracht", "kade", "steeg", "dreef", "allee",
    "boulevard", "hof", "plantsoen", "pad", "markt", "wal",
)
# Ordinary words with a street ending that open sentences ("Onderweg zag ik ...").
NOT_STREETS = frozenset("onderweg halfweg zoweg arbeidsmarkt woningmarkt huizenmarkt zorgmarkt".split())

# Endings of Dutch place names (toponymy): a capitalised word inside a sentence that ends in one
# of these is very likely a village, town or region.
TOPONYM_SUFFIXES = (
    "dam", "drecht", "horst", "hoven", "huizen", "loo", "broek", "veen", "wijk", "wolde", "zijl",
    "voort", "woude", "meer", "heim", "sum", "ingen", "inge", "rode", "burg", "beek", "haar", "kerk",
    "stad", "hout", "zand", "dorp", "dal", "um", "rijp", "lo", "werd", "wier", "zijde", "eind", "veld",
)

# Words that may precede a person's name and are not part of it.
PERSON_TITLES = frozenset("""
meneer mevrouw mevr mevr. dhr dhr. mw mw. heer collega wethouder burgemeester directeur dokter dr dr.
ir ir. mr mr. drs drs. prof prof. zuster buurman buurvrouw oom tante opa oma juf meester
""".split())

# Capitalised words inside a sentence that are not names (countries, laws, bodies, holidays, software).
NOT_NAMES = frozenset(w.casefold() for w in """
Nederland Nederlands Nederlandse Holland België Belgische Duitsland Frankrijk Engeland Europa Europese
Spanje Italië Turkije Marokko Suriname Amerika
Wmo Wlz Zvw Jeugdwet Participatiewet Woningwet Omgevingswet Huisvestingswet AWBZ Awbz Pgb PGB
Rijk Rijks Rijksoverheid Kamer Tweede Eerste Ministerie Minister Staatssecretaris Kabinet Provincie
Gemeente Gemeenteraad Raad College Wethouder Burgemeester
VNG CBS Aedes ActiZ Vilans Movisie Platform31 Zorginstituut
Kerst Kerstmis Pasen Pinksteren Koningsdag Oud Nieuw Sinterklaas
God Here Jezus
Excel Word Outlook Teams Zoom WhatsApp Google Facebook LinkedIn Twitter Instagram Internet
Corona Covid COVID
Int Interviewer Respondent Onderzoeker Moderator
Wonen Zorg Welzijn Ouderen Beleid Team Afdeling Sociaal Domein
Vastgoed Ruimte Openbare Ruimtelijke Ordening Financiën Economie Jeugd Werk Inkomen Participatie
Publiekszaken Communicatie Handhaving Gezondheid Cultuur Sport Onderwijs Veiligheid Dienstverlening
""".split())

# Words that deduce's first-name list contains but that open ordinary spoken sentences ("Mooi.").
COMMON_SENTENCE_OPENERS = frozenset("""
mooi fijn prima goed top zeker precies klopt juist leuk super helder duidelijk echt inderdaad
natuurlijk kijk nou tja oké oke ja nee dank bedankt hoor zo gezellig heerlijk lekker jammer raar gek
vreemd sterk knap wauw joh zeg hè he ha hallo dag doei daag welkom gefeliciteerd sorry pardon
""".split())

# Dutch function words (articles, pronouns, conjunctions, prepositions, common adverbs): capitalised
# only because they open a sentence, never a name.
FUNCTION_WORDS = frozenset("""
de het een den der des dit dat deze die zo zulke zulk welke welk wie wat waar wanneer waarom hoe hoeveel
ik jij je u hij zij ze wij we jullie men mij me mijn jouw jou uw zijn haar hun hen ons onze er hier daar
en of maar want dus omdat doordat als toen terwijl hoewel zodat tenzij indien nadat voordat zodra sinds
in op aan bij met van voor na naar uit over onder boven tussen door om tot tegen zonder tijdens volgens
vanaf vanuit binnen buiten langs rond achter naast behalve ondanks
niet geen wel ook nog al alleen toch juist even eens weer nu dan straks later eerst daarna daarom
daarnaast verder bovendien ten eerste tweede derde eigenlijk gewoon misschien waarschijnlijk wellicht
soms vaak altijd nooit meestal iedereen niemand iemand alles niets iets elke ieder alle beide veel weinig
meer minder heel erg best vrij zeer echt zelf zelfs dezelfde hetzelfde andere ander sommige
is was zijn waren wordt worden werd werden heeft hebben had hadden kan kunnen kon konden moet moeten
moest zal zullen zou zouden wil willen wilde mag mogen mocht gaat gaan ging komt komen kwam doet doen
deed zegt zeggen zei zie zien zag weet weten wist denk denken dacht vind vinden vond krijg krijgen
laat laten liet staat staan stond zit zitten zat hoop hoopt
ja nee nou tja oké oke goh jeetje hm hmm eh ehm uh uhm ah oh o nah
kortom enfin trouwens overigens immers namelijk bijvoorbeeld inderdaad natuurlijk uiteindelijk tenslotte
anyway sowieso zeg kijk luister stel
""".split())
