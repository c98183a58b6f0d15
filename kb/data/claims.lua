-- kb's pandoc filter (run by `kb pandoc`, never by hand): a citation of a claim,
-- [@claim:ID], becomes the claim's verified quote, its speaker as the source attributes them,
-- and a citation of the quote's source (with the quote's locator), which pandoc's citeproc then
-- formats in the chosen style like any other citation; [@source-id] is left as it is.
--
-- The claims come from the JSON file named by the metadata field kb-data:
--   {"claims": {ID: {"quote": ..., "speaker": ... or null, "source": ..., "locator": ...}}}
-- kb gives pandoc the base's sources as a CSL-JSON bibliography and runs --citeproc after
-- this filter.

local function quoted(text)
  return pandoc.Quoted('DoubleQuote', pandoc.Inlines(text))
end

local function claim_inlines(c, citation)
  local out = pandoc.Inlines({})
  out:insert(quoted(c.quote))
  if c.speaker and c.speaker ~= pandoc.json.null then
    out:extend(pandoc.Inlines(' (' .. c.speaker .. ')'))
  end
  out:insert(pandoc.Space())
  local suffix = pandoc.Inlines({})
  if c.locator and c.locator ~= pandoc.json.null and c.locator ~= '' then
    suffix = pandoc.Inlines(', ' .. c.locator)
  end
  suffix:extend(citation.suffix)
  local cite = pandoc.Citation(c.source, 'NormalCitation', citation.prefix, suffix)
  out:insert(pandoc.Cite({pandoc.Str('[@' .. c.source .. ']')}, {cite}))
  return out
end

local function rewrite(claims)
  return function(el)
    local out, plain = pandoc.Inlines({}), {}
    local changed = false
    local function flush()
      if #plain > 0 then
        if #out > 0 then out:insert(pandoc.Space()) end
        out:insert(pandoc.Cite({pandoc.Str('[cite]')}, plain))
        plain = {}
      end
    end
    for _, citation in ipairs(el.citations) do
      local id = citation.id:match('^claim:(.+)$')
      if id and claims[id] then
        flush()
        if #out > 0 then out:insert(pandoc.Str(';')) out:insert(pandoc.Space()) end
        out:extend(claim_inlines(claims[id], citation))
        changed = true
      else
        plain[#plain + 1] = citation
      end
    end
    if not changed then return nil end
    flush()
    return out
  end
end

function Pandoc(doc)
  local path = doc.meta['kb-data']
  if not path then return doc end
  local fh = assert(io.open(pandoc.utils.stringify(path), 'r'))
  local data = pandoc.json.decode(fh:read('a'), false)
  fh:close()
  doc.meta['kb-data'] = nil
  return doc:walk({Cite = rewrite(data.claims)})
end
