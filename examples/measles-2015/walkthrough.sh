# The walk-through of README.md ("Start your own knowledge base"), run from this folder.
# tests/test_example.py runs these lines one by one and checks what they leave.
kb init measles-kb --title "Measles outbreak examined (wwlp.com): a fact-check"
cd measles-kb
kb import ../inputs/zotero.json ../inputs/refs.bib ../inputs/refs.ris
kb snapshot wwlp-measles ../inputs/wwlp-measles-outbreak-examined.html --keep-original --excerpt
kb snapshot zipprich-2015 ../inputs/mm6406a5.pdf --excerpt
kb new expert anne-schuchat --name "Anne Schuchat"
kb new expert kavita-patel --name "Kavita Patel"
kb new claim plane-ride-away --statement "Measles can reach any community in the U.S. by air travel." --source wwlp-measles --quote "Measles is literally a plane ride away" --speaker anne-schuchat --attribution "says Dr. Anne Schuchat, the Director of the National Center for Immunization & Respiratory Diseases Director"
kb new claim cdc-121-cases --statement "The CDC was tracking 121 measles cases in the U.S., most of them connected to Disneyland." --source wwlp-measles --quote "The CDC is now tracking 121 cases of measles across the U.S. Most, but not all of them, are connected to Disneyland."
kb quote add cdc-121-cases --source wwlp-measles --quote "what started in Disneyland has now spread to Washington D.C. and 17 states"
kb new claim vaccination-personal-decision --statement "Whether to be vaccinated is a personal decision." --source wwlp-measles --quote "It's a personal decision" --speaker kavita-patel --attribution "said Dr. Kavita Patel from Johns Hopkins Medicine"
kb check
kb build
