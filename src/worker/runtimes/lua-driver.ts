/**
 * The Lua side of the lua runtime: a driver chunk that strips the standard library down to what is
 * safe, installs barge's `print`, `io` and `os.getenv`, and returns the function that runs a task:
 * it sets up the SlideRule-style `arg` table, runs the script and turns its first return value into
 * the result text. The thread runs the chunk in a fresh Lua state before the task comes, so only
 * that function is on the task's path; each state runs one task.
 *
 * It talks to the worker thread only through the `__barge_*` globals the thread sets before running
 * it, and removes them before the script starts. Wasmoon's own `io` would reach an in-memory
 * emscripten file system nobody sees, so it is replaced by one that reads and writes the work
 * folder through the thread (text only; modes r, w, a; no seek on written files).
 */
export const LUA_DRIVER = String.raw`
local host = {
  write = __barge_write,
  getenv = __barge_getenv,
  read = __barge_read,
  save = __barge_save,
  lasterror = __barge_lasterror,
  arg = __barge_arg,
  limit_memory = __barge_limit_memory,
}
for name in pairs(_G) do
  if type(name) == 'string' and name:sub(1, 8) == '__barge_' then _G[name] = nil end
end

local traceback = debug.traceback
local raw_load = load
local pack, unpack, concat = table.pack, table.unpack, table.concat

-- Nothing that reaches processes, native code or the emscripten file system.
os.execute, os.exit, os.remove, os.rename, os.tmpname = nil, nil, nil, nil, nil
-- Parenthesised: a JS function returning undefined yields no value at all, not nil.
os.getenv = function(name) return (host.getenv(name)) end
package, require, dofile, loadfile, debug = nil, nil, nil, nil, nil
string.dump = nil
-- Text chunks only: crafted bytecode can break the VM's guarantees.
load = function(chunk, name, _, ...)
  if select('#', ...) > 0 then return raw_load(chunk, name, 't', ...) end
  return raw_load(chunk, name, 't')
end

print = function(...)
  local parts = {}
  for i = 1, select('#', ...) do parts[i] = tostring((select(i, ...))) end
  host.write('stdout', concat(parts, '\t') .. '\n')
end

local function text_arguments(fname, ...)
  local parts = {}
  for i = 1, select('#', ...) do
    local value = select(i, ...)
    local kind = type(value)
    if kind == 'number' then value = tostring(value)
    elseif kind ~= 'string' then
      error(string.format("bad argument #%d to '%s' (string expected, got %s)", i, fname, kind), 3)
    end
    parts[i] = value
  end
  return concat(parts)
end

local Stream = {}
Stream.__index = Stream
Stream.__name = 'FILE*'
function Stream:write(...) host.write(self.stream, text_arguments('write', ...)); return self end
function Stream:flush() return self end
function Stream:close() return nil, 'cannot close standard file' end
function Stream:read() return nil end
function Stream:lines() return function() return nil end end
function Stream:setvbuf() return true end
Stream.__tostring = function(self) return 'file (' .. self.stream .. ')' end

local File = {}
File.__index = File
File.__name = 'FILE*'
local function check_open(file)
  if file.closed then error('attempt to use a closed file', 3) end
end
function File:write(...)
  check_open(self)
  if not self.writable then return nil, 'file not open for writing' end
  if not host.save(self.path, text_arguments('write', ...), true) then return nil, host.lasterror() end
  return self
end
function File:read_one(format)
  local data, pos = self.data, self.pos
  if math.type(format) == 'integer' then
    if pos > #data then return nil end
    local chunk = data:sub(pos, pos + format - 1)
    self.pos = pos + #chunk
    return chunk
  end
  local kind = tostring(format):gsub('^%*', ''):sub(1, 1)
  if kind == 'a' then
    self.pos = #data + 1
    return data:sub(pos)
  elseif kind == 'l' or kind == 'L' then
    if pos > #data then return nil end
    local newline = data:find('\n', pos, true)
    if not newline then
      self.pos = #data + 1
      return data:sub(pos)
    end
    self.pos = newline + 1
    return data:sub(pos, kind == 'L' and newline or newline - 1)
  elseif kind == 'n' then
    local first, last = data:find('^%s*[%+%-]?[%w%.]+', pos)
    if not first then return nil end
    self.pos = last + 1
    return tonumber((data:sub(first, last):gsub('^%s+', '')))
  end
  error("bad argument #1 to 'read' (invalid format)", 3)
end
function File:read(...)
  check_open(self)
  if not self.data then return nil, 'file not open for reading' end
  local formats = pack(...)
  if formats.n == 0 then formats = { 'l', n = 1 } end
  local values = {}
  for i = 1, formats.n do
    values[i] = self:read_one(formats[i])
    if values[i] == nil then return unpack(values, 1, i) end
  end
  return unpack(values, 1, formats.n)
end
function File:lines(...)
  local formats = pack(...)
  return function() return self:read(unpack(formats, 1, formats.n)) end
end
function File:seek(whence, offset)
  check_open(self)
  if not self.data then return nil, 'seek is not supported on files open for writing' end
  local base = ({ set = 0, cur = self.pos - 1, ['end'] = #self.data })[whence or 'cur']
  if not base then error("bad argument #1 to 'seek' (invalid option)", 2) end
  self.pos = math.max(0, base + (offset or 0)) + 1
  return self.pos - 1
end
function File:close() check_open(self); self.closed = true; return true end
function File:flush() return self end
function File:setvbuf() return true end
File.__tostring = function(self) return self.closed and 'file (closed)' or 'file (' .. self.path .. ')' end
File.__close = function(self) if not self.closed then self.closed = true end end

local stdout = setmetatable({ stream = 'stdout' }, Stream)
local stderr = setmetatable({ stream = 'stderr' }, Stream)

io = {
  stdout = stdout,
  stderr = stderr,
  write = function(...) return stdout:write(...) end,
  read = function() return nil end,
  open = function(path, mode)
    if type(path) ~= 'string' then error("bad argument #1 to 'open' (string expected, got " .. type(path) .. ')', 2) end
    local plain = tostring(mode or 'r'):gsub('b', '')
    if plain == 'r' then
      local data = host.read(path)
      if data == nil then return nil, host.lasterror() end
      return setmetatable({ path = path, data = data, pos = 1 }, File)
    elseif plain == 'w' or plain == 'a' then
      if not host.save(path, '', plain == 'a') then return nil, host.lasterror() end
      return setmetatable({ path = path, writable = true }, File)
    end
    return nil, 'mode "' .. tostring(mode) .. '" is not supported'
  end,
  close = function(file) if file then return file:close() end return nil end,
  type = function(value)
    local meta = getmetatable(value)
    if meta == File then return value.closed and 'closed file' or 'file' end
    if meta == Stream then return 'file' end
    return nil
  end,
}
io.lines = function(path, ...)
  if path == nil then return function() return nil end end
  local file, err = io.open(path, 'r')
  if not file then error(err, 2) end
  local formats = pack(...)
  return function()
    local value = file:read(unpack(formats, 1, formats.n))
    if value == nil and not file.closed then file:close() end
    return value
  end
end

local function json_string(text)
  local escapes = { ['"'] = '\\"', ['\\'] = '\\\\', ['\b'] = '\\b', ['\f'] = '\\f', ['\n'] = '\\n', ['\r'] = '\\r', ['\t'] = '\\t' }
  return '"' .. text:gsub('[%c"\\]', function(c) return escapes[c] or string.format('\\u%04x', c:byte()) end) .. '"'
end

local function json_number(value)
  if value ~= value or value == math.huge or value == -math.huge then return 'null' end
  if math.type(value) == 'integer' then return string.format('%d', value) end
  local short = string.format('%.14g', value)
  if tonumber(short) == value then return short end
  return string.format('%.17g', value)
end

local encode

local function encode_table(value, seen, depth)
  if seen[value] then error('cannot convert a table that contains itself to JSON', 0) end
  if depth > 200 then error('cannot convert a table nested deeper than 200 levels to JSON', 0) end
  seen[value] = true
  local count, is_array = 0, true
  for key in pairs(value) do
    count = count + 1
    if math.type(key) ~= 'integer' or key < 1 then is_array = false end
  end
  if is_array then
    for i = 1, count do if value[i] == nil then is_array = false break end end
  end
  local parts = {}
  if is_array and count > 0 then
    for i = 1, count do parts[i] = encode(value[i], seen, depth + 1) end
    seen[value] = nil
    return '[' .. concat(parts, ',') .. ']'
  end
  local keys = {}
  for key in pairs(value) do keys[#keys + 1] = tostring(key) end
  table.sort(keys)
  local by_name = {}
  for key, item in pairs(value) do by_name[tostring(key)] = item end
  for i, key in ipairs(keys) do parts[i] = json_string(key) .. ':' .. encode(by_name[key], seen, depth + 1) end
  seen[value] = nil
  return '{' .. concat(parts, ',') .. '}'
end

encode = function(value, seen, depth)
  local kind = type(value)
  if kind == 'string' then return json_string(value)
  elseif kind == 'number' then return json_number(value)
  elseif kind == 'boolean' then return tostring(value)
  elseif kind == 'table' then return encode_table(value, seen, depth)
  end
  return 'null' -- nil, functions, userdata and threads have no JSON form
end

local function to_result(value)
  local kind = type(value)
  if value == nil then return nil
  elseif kind == 'string' then return value
  elseif kind == 'table' then return encode(value, {}, 0)
  end
  return tostring(value)
end

local function describe_error(err)
  if type(err) == 'string' then return err end
  if type(err) == 'table' then
    local ok, text = pcall(encode, err, {}, 0)
    if ok then return text end
  end
  return tostring(err)
end

-- Everything above is done before a task comes; the task's own part starts here.
return function(script, script_name, argc)
  -- arg as the SlideRule runner sets it: arg[1] the script, arg[2] its argument string, then the rest.
  local args = { n = argc }
  for i = 1, argc do args[i] = host.arg(i) end
  arg = { [0] = 'barge' }
  arg[1] = script_name
  for i = 1, argc do arg[i + 1] = args[i] end

  local chunk, syntax_error = raw_load(script, '=' .. script_name, 't')
  if not chunk then return { ok = false, message = syntax_error } end

  host.limit_memory()
  local outcome = pack(xpcall(chunk, function(err)
    -- The frames below the script (xpcall, this driver) mean nothing to its author.
    local trace = traceback('', 2):gsub("\n%s*%[C%]: in function 'xpcall'.*$", '')
    return { message = describe_error(err), trace = trace }
  end, unpack(args, 1, args.n)))
  if not outcome[1] then
    local err = outcome[2]
    collectgarbage()
    -- Memory errors skip the handler, so err may be the bare message.
    if type(err) == 'table' and err.message then return { ok = false, message = err.message, trace = err.trace } end
    return { ok = false, message = describe_error(err) }
  end
  local converted, result = pcall(to_result, outcome[2])
  if not converted then return { ok = false, message = 'cannot convert the result: ' .. describe_error(result) } end
  return { ok = true, result = result }
end
`;
