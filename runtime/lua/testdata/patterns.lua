-- String pattern cases run by TestPatternsLua51; testdata/patterns.golden is what
-- the lua5.1 interpreter (5.1.5) prints for them (see the test for how).
local cases = {
 {"find", "hello world", "o"}, {"find", "hello world", "o", 6}, {"find", "hello world", "o", -3},
 {"find", "hello", "l+"}, {"find", "hello", "xyz"}, {"find", "hello", ""}, {"find", "hello", "", 10},
 {"find", "hello", "", -10}, {"find", "a.b", ".", 1, true}, {"find", "a+b", "+", 1, true},
 {"find", "abc", "[a-"}, {"find", "abc", "%"}, {"find", "abc", "(a"}, {"find", "abc", "a)"},
 {"find", "hello", "(l)(l)"}, {"find", "hello", "()ll()"}, {"find", "  x", "^%s*"},
 {"find", "abc", "^b"}, {"find", "abc", "c$"}, {"find", "abc$", "c$"}, {"find", "a$c", "$c"},
 {"find", "THE (quick) fox", "%((%a+)%)"}, {"find", "f(a(b)c)d", "%b()"}, {"find", "x[]y", "[]]"},
 {"find", "x^y", "[%^]"}, {"find", "x^y", "[^^]"}, {"find", "a-b", "[a-]"}, {"find", "a-b", "[-a]"},
 {"find", "THE END", "%f[%a]%a+"}, {"find", "the end", "%f[%l]"}, {"find", "hello", "%f[%z]"},
 {"find", "aaa", "a-"}, {"find", "aaa", "a-$"}, {"find", "aaab", "a-b"}, {"find", "ab", "a?b"}, {"find", "b", "a?b"},
 {"find", "aaa", "^a*"}, {"find", "abcabc", "(abc)%1"}, {"find", "abab", "(ab)%1"}, {"find", "abxab", "(ab)x%1"},
 {"find", "abc", "%1"}, {"find", "abc", "(a)%2"}, {"find", "abc", "(a%1)"},
 {"find", "a1b2", "%d"}, {"find", "a1b2", "%D+"}, {"find", "\0a", "%z"}, {"find", "a\0b", "[%z]"},
 {"find", "x\0y", "\0"}, {"find", "tab\there", "%c"}, {"find", "a,b", "%p"}, {"find", "AbC", "%u%l%u"},
 {"find", "0x1F", "%x+$"}, {"find", "w_1", "%w+"}, {"find", "a b", "%S+"}, {"find", "a.b", "%."},
 {"find", "abc", "[%a]+"}, {"find", "a]b", "[%]]"}, {"find", "abc", "[^%a]"}, {"find", "123", "[^%a]+"},
 {"find", "hello", "%y"}, {"find", "hello", "(h)(e)(l)(l)(o)"}, {"find", "x", "%bxy"}, {"find", "abc", "%b"},
 {"find", "abc", "%f"}, {"find", "abc", "%fa"}, {"find", "((a)", "%b()"}, {"find", "", ""}, {"find", "", "^$"},
 {"find", "abc", "a.-c"}, {"find", "abcbc", "a.*c"}, {"find", "abcbc", "a.-c"}, {"find", "aXb", "%u"},
 {"find", "caaab", "a+"}, {"find", "xyz", ".-"}, {"find", "abc", "()"}, {"find", "abc", "()", 4},
 {"match", "hello world", "(%w+) (%w+)"}, {"match", "key=value", "(%w+)=(%w+)"}, {"match", "hello", "()ll()"},
 {"match", "hello", "l+"}, {"match", "hello", "x"}, {"match", "  trim  ", "^%s*(.-)%s*$"}, {"match", "abc", "((a)(b))"},
 {"match", "date: 2024-01-15", "(%d+)-(%d+)-(%d+)"}, {"match", "hello", "(h)(.)"}, {"match", "abc", "b", -1},
 {"match", "abc", "^(a)"}, {"match", "[[x]]", "%[(%b[])%]"}, {"match", "a", "(()a())"}, {"match", "abc", "(a"},
 {"match", "abc", "()", 2}, {"match", "aaa", "(a*(.))"}, {"match", "THE", "%f[%w]%w+"},
 {"gmatch", "hello world from lua", "%a+"}, {"gmatch", "k1=v1, k2=v2", "(%w+)=(%w+)"}, {"gmatch", "abc", ""},
 {"gmatch", "abc", "()"}, {"gmatch", "a,b,,c", "([^,]*)"}, {"gmatch", "^a^a", "^a"}, {"gmatch", "aaa", "a*"},
 {"gmatch", "one two", "()(%a+)()"}, {"gmatch", "", "x*"},
 {"gsub", "hello world", "o", "0"}, {"gsub", "hello world", "o", "0", 1}, {"gsub", "hello", "", "-"},
 {"gsub", "hello world", "(%w+)", "<%1>"}, {"gsub", "hello world", "%w+", "%0 %0"}, {"gsub", "abc", "%w", "%%"},
 {"gsub", "abc", "%w", "%x"}, {"gsub", "hello", "(l)(l)", "%2%1"}, {"gsub", "abc", "b", "%1"}, {"gsub", "abc", "b", "%2"},
 {"gsub", "abc", "^a", "x"}, {"gsub", "aaa", "^a", "x"}, {"gsub", "abc", "$", "!"}, {"gsub", "abc", "c$", "!"},
 {"gsub", "hello world", "%w+", {hello = "HI", world = false}}, {"gsub", "$name is $age", "%$(%w+)", {name = "Bob", age = 42}},
 {"gsub", "abc", "%w", function(c) return c:upper() .. "." end}, {"gsub", "abc", "%w", function(c) if c == "b" then return nil end return "x" end},
 {"gsub", "a b", "()", "%1"}, {"gsub", "abc", ".", {a = 1, b = true}}, {"gsub", "abc", ".", 5}, {"gsub", "x", "x", "%"},
 {"gsub", "abc", "b*", "-"}, {"gsub", "one two", "(%w+) (%w+)", "%2 %1"}, {"gsub", "abc", "(b)", "[%0|%1]"},
 {"gsub", "abc", ".", "%9"}, {"gsub", "abc", "x*", "-", 2}, {"gsub", "abc", "b", "x", 0}, {"gsub", "abc", "b", "x", -1},
 {"gsub", "hello", "l", function() end}, {"gsub", "f(x) g(y)", "%b()", "[]"}, {"gsub", "THE (quick) fox", "%f[%a]%a+", "W"},
 {"gsub", "abc", "(", "x"}, {"gsub", "abc", "[", "x"},
}

local function ser(v)
  if type(v) == "string" then return string.format("%q", v) end
  return tostring(v)
end

local function pack(...) return {n = select("#", ...), ...} end

local function gmatch(s, p)
  local items, n = {}, 0
  for a, b, c in string.gmatch(s, p) do
    n = n + 1
    if n > 20 then break end
    local parts = {}
    for _, v in ipairs({a, b, c}) do parts[#parts + 1] = ser(v) end
    items[#items + 1] = "(" .. table.concat(parts, ",") .. ")"
  end
  return table.concat(items, " ")
end

local function run(c)
  if c[1] == "gmatch" then
    local ok, r = pcall(gmatch, c[2], c[3])
    return ok and r or ("ERR " .. r)
  end
  local r = pack(pcall(string[c[1]], unpack(c, 2, table.maxn(c))))
  if not r[1] then return "ERR " .. r[2] end
  local parts = {}
  for k = 2, r.n do parts[#parts + 1] = ser(r[k]) end
  return table.concat(parts, ",")
end

return {main = function()
  local out = {}
  for i, c in ipairs(cases) do out[i] = run(c) end
  return out
end}
