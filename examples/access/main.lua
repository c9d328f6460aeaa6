-- The examples of Wippy's security and context pages, run as written
-- there where they can be, each result printed.
local io = require("io")
local security = require("security")

local function show(label, v) io.print(string.format("   %-50s %s", label, tostring(v))) end

local function policies()
  io.print("1. the docs' policies (en/system/security.md)")
  local admin = security.new_actor("user:1", {role = "admin", clearance = 1})
  local user = security.new_actor("user:123", {role = "user", team = "backend", clearance = 3})

  -- "Create scope with policies": scopes are immutable, :with returns a new one.
  local admin_policy = security.policy("app.security:admin_policy")
  local readonly_policy = security.policy("app.security:readonly_policy")
  local scope = security.new_scope()
  scope = scope:with(admin_policy)
  scope = scope:with(readonly_policy)
  show("admin deletes user:123", scope:evaluate(admin, "delete", "user:123"))
  show("user reads users (\"*.read\")", scope:evaluate(user, "users.read", "users"))
  show("user deletes user:123", scope:evaluate(user, "delete", "user:123"))

  -- "Evaluate directly", with resource metadata.
  local default, err = security.named_scope("app.security:default")
  if err then return nil, err end
  show("owner reads document:123", default:evaluate(user, "read", "document:123", {owner = "user:123"}))
  show("another reads document:123", default:evaluate(user, "read", "document:123", {owner = "user:456"}))
  local guard = default:with(security.policy("app.security:deny_confidential"))
  show("admin (clearance 1) reads a confidential one", guard:evaluate(admin, "read", "document:7",
    {owner = "user:1", classification = "confidential"}))

  -- The expression policy: meta keeps its types.
  local flexible = security.policy("app.security:flexible_access")
  show("editor writes file:a", flexible:evaluate(security.new_actor("u", {role = "editor"}), "write", "file:a"))
  show("public = true, read file:a", flexible:evaluate(user, "read", "file:a", {public = true}))
  show("public = \"true\" (text), read file:a", flexible:evaluate(user, "read", "file:a", {public = "true"}))
  show("owner writes file:a", flexible:evaluate(user, "write", "file:a", {owner = "user:123"}))
  return true
end

local function operators()
  io.print("2. condition operators")
  local system = security.new_actor("system:backup", {})
  local cases = {
    {"nin", "doc:1", {status = "draft"}}, {"nin", "doc:1", {status = "archived"}},
    {"exists", "doc:1", {owner = "x"}}, {"exists", "doc:1", {}},
    {"nexists", "doc:1", {}}, {"nexists", "doc:1", {deleted = true}},
    {"contains", "doc:sensitive-1", {}}, {"contains", "doc:1", {}},
    {"ncontains", "doc:1", {}}, {"ncontains", "doc:public-1", {}},
    {"matches", "api:/v2/admin/users", {}}, {"matches", "api:/v2/users", {}},
    {"nmatches", "doc:1", {}, security.new_actor("user:1", {})}, {"nmatches", "doc:1", {}, system},
  }
  for _, c in ipairs(cases) do
    local p = security.policy("app:op." .. c[1])
    local parts = {}
    for k, v in pairs(c[3]) do table.insert(parts, k .. "=" .. tostring(v)) end
    local actor = c[4] or system
    show(string.format("%s on %s {%s} as %s", c[1], c[2], table.concat(parts, ","), actor:id()),
      p:evaluate(actor, "op." .. c[1], c[2], c[3]))
  end
end

local function module()
  io.print("3. the security module")
  show("security.actor() of this process", security.actor())
  show("security.scope() of this process", security.scope())
  local actor = security.new_actor("service:payment-processor", {type = "service", version = "1.0.0"})
  show("new_actor", actor:id() .. " " .. actor:meta().version)
  local scope = security.new_scope({security.policy("app.security:owner_policy")})
  show("contains owner_policy", scope:contains("app.security:owner_policy"))
  show("without it", #scope:without("app.security:owner_policy"):policies())
  show("named_scope admin", security.named_scope("app.security:admin"))
  local p, err = security.policy("app.security:nope")
  show("a policy that does not exist", tostring(p) .. ", " .. err:kind())
  local store, serr = security.token_store("app.auth:tokens")
  show("token_store", tostring(store) .. ", " .. serr:kind())
end

local function spawning()
  io.print("4. spawners: context, options, actor and scope")
  local sp = process.with_context({request_id = "123"}):with_context({user = "ada"})
  local r, err = sp:exec("app:child", "app:workers", 1)
  if err then return nil, err end
  show("child's context", r.context)
  show("ctx.get(\"request_id\")", r.request_id)
  show("ctx.get(\"nope\")", r.missing)
  show("grandchild's context (a plain spawn)", r.grandchild)

  local opts = process.with_options({network = "app:tor_proxy"})
  show("with_options{network}", opts ~= nil)
  local _, oerr = process.with_options({netwrok = "app:tor_proxy"})
  show("with_options{netwrok}", oerr:message())

  -- Narrowing: the child runs as user:9 with the default scope plus the
  -- confidential deny; every layer before it must allow too.
  local scope = security.named_scope("app.security:default"):with(security.policy("app.security:deny_confidential"))
  local narrowed = process.with_context({request_id = "456"})
    :with_actor(security.new_actor("user:9", {role = "user", clearance = 1}))
    :with_scope(scope)
  r, err = narrowed:exec("app:child", "app:workers", 0)
  if err then return nil, err end
  show("narrowed child runs as", r.actor)
  show("it may read users", r.read)
  show("it may read a confidential document", r.confidential)
  return true
end

local function main()
  local ok, err = policies()
  if not ok then return nil, err end
  operators()
  module()
  ok, err = spawning()
  if not ok then return nil, err end
  return 0
end

return {main = main}
